"""The optimization recipe of the demo model: the question-kind mix, the learning-rate schedule, AdamW's parameter
groups and the answer loss."""

from __future__ import annotations

import math

import torch

from demo_data import QUESTION_KINDS


def kind_weights(spec: str) -> dict:
    weights = {}
    for part in spec.split(","):
        name, value = part.split("=")
        if name not in QUESTION_KINDS:
            raise SystemExit(f"--kind-weights: unknown kind {name!r} (kinds: {QUESTION_KINDS})")
        weights[name] = float(value)
    return weights


class Schedule:
    """Linear warmup, then cosine decay to min_lr_ratio * lr at `total` steps; `total` may be refitted once."""

    def __init__(self, lr: float, warmup: int, total: int, min_ratio: float):
        self.lr, self.warmup, self.total, self.min_ratio = lr, warmup, total, min_ratio

    def refit(self, total: int) -> None:
        self.total = total
        self.warmup = min(self.warmup, max(1, total // 10))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.lr * (self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def optimizer_for(model, lr: float, weight_decay: float, device) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embed" not in name else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")


def answer_loss(logits: torch.Tensor, labels: torch.Tensor, mode: str) -> torch.Tensor:
    """Cross-entropy of the answer tokens (labels != -100, predicted from the position before). "example": the mean
    over each example's answer, then over the batch, so a one-word answer weighs as much as a description;
    "token": the mean over all answer tokens of the batch (transformers' own loss)."""
    target = labels[:, 1:]
    mask = target != -100
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), target.clamp(min=0).reshape(-1), reduction="none"
    ).view_as(target) * mask
    if mode == "token":
        return ce.sum() / mask.sum()
    return (ce.sum(dim=1) / mask.sum(dim=1)).mean()
