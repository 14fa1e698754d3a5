"""Where a non-finite gradient comes from, logged the first time one appears in a run.

The generator-2 runs in bf16 saw finite losses but non-finite gradient norms (README.md, "Runs"), so the value
appears in the backward pass. On the first such batch this logs what the step saw (the batch, the loss, the
parameters whose clipped gradients are non-finite), then runs the same batch forward and backward again with hooks:
forward hooks record the largest |activation| of each top-level block (vision blocks, decoder layers, embeddings,
merger, head), and full backward hooks on every module that holds parameters, and on those blocks, record in
backward order the first module whose grad_output or grad_input is non-finite, and the modules just before it.
The hooks exist only during that re-run. Nothing here may end the run: any failure is logged and training goes on.
"""

from __future__ import annotations

import math
import re
import traceback

import torch

from demo_data import PATCH_SIZE
from demo_eval import log

# The blocks whose largest activation is reported, by module name in transformers' Qwen2.5-VL (a name that does not
# match is simply not reported): model.visual.blocks.N, model.language_model.layers.N, the patch embedding, the
# merger, the token embeddings, the final norm and lm_head.
TOP_LEVEL = re.compile(r"(^|\.)(blocks|layers)\.\d+$|(^|\.)(patch_embed|merger|embed_tokens|lm_head)$|language_model\.norm$")


def _tensors(value) -> list:
    """The tensors of a module's input or output: a tensor, a tuple or list of them, or a ModelOutput (a dict)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def largest(value) -> float:
    """The largest |x| over the floating-point tensors of `value`: NaN if any holds a NaN, inf if any an inf, 0.0
    for none. (torch's max propagates NaN; Python's max does not, hence the explicit test.)"""
    worst = 0.0
    for t in _tensors(value):
        if t.is_floating_point() and t.numel() > 0:
            m = t.detach().abs().max().float().item()
            if math.isnan(m):
                return math.nan
            worst = max(worst, m)
    return worst


def non_finite_parameters(model) -> list:
    return [n for n, p in model.named_parameters() if p.grad is not None and not bool(torch.isfinite(p.grad).all())]


def describe_batch(batch: dict, labels: torch.Tensor) -> dict:
    """The batch's picture size (one size bucket a batch), rows and lengths."""
    _, grid_h, grid_w = batch["image_grid_thw"][0].tolist()
    tokens = batch["attention_mask"].sum(dim=1)
    answer = (labels != -100).sum(dim=1)
    return {"pictures": int(batch["image_grid_thw"].shape[0]), "picture_size": f"{grid_h * PATCH_SIZE}x{grid_w * PATCH_SIZE}",
            "padded_length": int(batch["input_ids"].shape[1]), "tokens": [int(tokens.min()), int(tokens.max())],
            "answer_tokens": [int(answer.min()), int(answer.max())]}


def _rerun(model, compute_loss, backward_hooks: bool) -> dict:
    activations, fired, handles = {}, [], []

    def on_forward(name):
        def hook(module, args, output):
            activations[name] = largest(output)
        return hook

    def on_backward(name):
        def hook(module, grad_input, grad_output):
            fired.append({"module": name, "grad_output": largest(grad_output), "grad_input": largest(grad_input)})
        return hook

    try:
        for name, module in model.named_modules():
            top = bool(TOP_LEVEL.search(name))
            if top:
                handles.append(module.register_forward_hook(on_forward(name)))
            if backward_hooks and (top or any(True for _ in module.parameters(recurse=False))):
                handles.append(module.register_full_backward_hook(on_backward(name)))
        model.zero_grad(set_to_none=True)
        loss = compute_loss()
        loss.backward()
        bad = non_finite_parameters(model)
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
    first = next((i for i, f in enumerate(fired)
                  if not (math.isfinite(f["grad_output"]) and math.isfinite(f["grad_input"]))), None)
    return {
        "loss": float(loss.detach().float().item()),
        "non_finite_parameters": len(bad),
        "first_non_finite_parameters": bad[:10],
        "backward_hooks": backward_hooks,
        "modules_hooked_in_backward": len(fired),
        # The first module whose gradients are non-finite, and the three that ran just before it in the backward
        # pass (finite): the value appeared between them, or inside the first one if only its grad_input is bad.
        "first_non_finite_module": fired[first] if first is not None else None,
        "finite_modules_before": fired[max(0, first - 3) : first] if first is not None else [],
        "largest_activation": activations,
    }


def diagnose(model, compute_loss, about_batch: dict, loss: float, grad_norm: float, step: int) -> dict:
    """Logs and returns what is known of a non-finite gradient at `step`. `compute_loss()` runs that batch's forward
    pass again (same inputs, same precision) and returns its loss; the model's gradients are cleared afterwards."""
    report = {"step": step, "batch": about_batch, "loss": loss, "grad_norm": grad_norm}
    try:
        log(f"DIAGNOSIS of the non-finite gradient at step {step}: loss {loss:.4f}, gradient norm {grad_norm}, batch {about_batch}")
        bad = non_finite_parameters(model)
        # clip_grad_norm_ has already scaled the gradients by max_norm / norm: with an infinite norm the finite ones
        # became 0 and the non-finite ones NaN, so these names are exact; a NaN norm made every gradient NaN.
        report["after_clipping"] = {"non_finite_parameters": len(bad), "first": bad[:10]}
        log(f"  after clipping: {len(bad)} parameters with non-finite gradients"
            + (" (a NaN norm spreads NaN to all; see the re-run)" if math.isnan(grad_norm) else "") + f": {bad[:10]}")
        try:
            rerun = _rerun(model, compute_loss, backward_hooks=True)
        except Exception:  # full backward hooks refuse some in-place patterns: keep the forward hooks, lose the order
            log(f"  the re-run with backward hooks failed, re-running with forward hooks only:\n{traceback.format_exc()}")
            rerun = _rerun(model, compute_loss, backward_hooks=False)
        report["rerun"] = rerun
        log(f"  re-run of the batch: loss {rerun['loss']:.4f}; {rerun['non_finite_parameters']} parameters with "
            f"non-finite gradients (before clipping): {rerun['first_non_finite_parameters']}")
        if rerun["non_finite_parameters"] == 0:
            log("  the re-run's gradients are all finite: the non-finite value did not reproduce (a nondeterministic kernel?)")
        if rerun["backward_hooks"]:
            log(f"  backward hooks fired {rerun['modules_hooked_in_backward']} times; first module with a non-finite "
                f"grad_output or grad_input: {rerun['first_non_finite_module']}")
            for before in rerun["finite_modules_before"]:
                log(f"    finite just before it: {before}")
        for name, value in rerun["largest_activation"].items():
            log(f"  forward: largest |activation| of {name}: {value:.4g}")
    except Exception:
        report["error"] = traceback.format_exc()
        log(f"  the diagnosis itself failed (training goes on):\n{report['error']}")
    return _plain(report)


def _plain(value):
    """`value` with NaN and infinities as strings, so training_summary.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
