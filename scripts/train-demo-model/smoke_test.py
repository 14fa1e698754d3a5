#!/usr/bin/env python3
"""Checks the training script on a machine without a GPU, tokenizers or transformers (needs torch and numpy):
- the recovery from non-finite gradients (demo_recovery.py: snapshots, restores, the ladder) and their diagnosis
  (demo_diagnose.py: the first module with a non-finite gradient, the parameters, the activations), on a tiny
  model whose backward pass turns NaN at a known place;
- with a data set: reads a generator-2 data set, builds the example table with a stand-in tokenizer, and checks the
  batches, the patch layout, the M-RoPE templates and the bucket sampler against plain re-computations.

    node --import tsx src/demo/shapes/write-dataset.ts --generator 2 --count 300 --seed-start 0 --out /tmp/demo-smoke
    python3 scripts/train-demo-model/smoke_test.py /tmp/demo-smoke   # or without a folder: the first part only
"""

from __future__ import annotations

import os
import re
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if "tokenizers" not in sys.modules:
    try:
        import tokenizers  # noqa: F401
    except ImportError:  # the data path needs only the Tokenizer type from it
        stub = types.ModuleType("tokenizers")
        for name in ("AddedToken", "Regex", "Tokenizer", "models", "normalizers", "pre_tokenizers", "trainers"):
            setattr(stub, name, type(name, (), {}))
        sys.modules["tokenizers"] = stub

from demo_checkpoint import expected_positions  # noqa: E402
from demo_data import (  # noqa: E402
    PATCH_SIZE,
    QUESTION_KINDS,
    BatchMaker,
    BucketSampler,
    Encoder,
    build_examples,
    image_tokens,
    load_dataset,
)
from demo_diagnose import diagnose  # noqa: E402
from demo_fast_paths import position_templates  # noqa: E402
from demo_recovery import Recovery  # noqa: E402
from demo_tokenizer import QWEN_SPECIAL_TOKENS  # noqa: E402


class WordTokenizer:
    """A stand-in with the interface the data path uses: special tokens whole, other text split into words."""

    def __init__(self):
        self.vocab = {t: i for i, t in enumerate(QWEN_SPECIAL_TOKENS)}
        self.pattern = re.compile("|".join(re.escape(t) for t in QWEN_SPECIAL_TOKENS) + r"|\w+|\W")

    def token_to_id(self, token: str):
        return self.vocab.get(token)

    def encode(self, text: str):
        ids = [self.vocab.setdefault(piece, len(self.vocab)) for piece in self.pattern.findall(text)]
        return types.SimpleNamespace(ids=ids)


def naive_patches(picture: np.ndarray) -> np.ndarray:
    """The Qwen2-VL processor's patch rows, one by one: merge blocks row-major, their 2x2 patches in order, each row
    channel, time (the frame twice), patch row, patch column; normalized with the CLIP mean and std."""
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32) * 255
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32) * 255
    x = (picture.astype(np.float32) - mean) / std  # [H, W, C]
    rows = []
    for by in range(picture.shape[0] // 28):
        for bx in range(picture.shape[1] // 28):
            for py in range(2):
                for px in range(2):
                    y0, x0 = by * 28 + py * 14, bx * 28 + px * 14
                    patch = x[y0 : y0 + 14, x0 : x0 + 14].transpose(2, 0, 1)  # [C, 14, 14]
                    rows.append(np.stack([patch, patch], axis=1).reshape(-1))  # [C, t, 14, 14]
    return np.stack(rows)


class Tiny(torch.nn.Module):
    """Two layers and a head, named as the hooks look for them; `poison` puts sqrt(0) between the layers: its
    forward value is 0, its gradient 0 * inf = NaN, so the backward pass turns non-finite at layers.0's output."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)])
        self.lm_head = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, poison: bool = False) -> torch.Tensor:
        h = self.layers[0](x)
        if poison:
            h = torch.sqrt(h * 0)
        return self.lm_head(self.layers[1](h))


def check_diagnosis() -> None:
    torch.manual_seed(0)
    model, x = Tiny(), torch.randn(8, 4)
    report = diagnose(model, lambda: model(x, poison=True).pow(2).mean(), {"pictures": 8}, 0.5, float("nan"), 7)
    assert "error" not in report, report["error"]
    rerun = report["rerun"]
    assert rerun["backward_hooks"], report
    assert rerun["first_non_finite_module"]["module"] == "layers.0", rerun
    assert [m["module"] for m in rerun["finite_modules_before"]] == ["lm_head", "layers.1"], rerun
    assert rerun["first_non_finite_parameters"] == ["layers.0.weight", "layers.0.bias"], rerun
    assert sorted(rerun["largest_activation"]) == ["layers.0", "layers.1", "lm_head"], rerun
    assert report["grad_norm"] == "nan" and rerun["loss"] > 0, report  # strict JSON: no NaN numbers
    assert all(p.grad is None for p in model.parameters()), "the diagnosis leaves gradients behind"
    for m in model.modules():
        assert not m._forward_hooks and not m._backward_hooks, "the diagnosis leaves hooks behind"


def check_recovery() -> None:
    torch.manual_seed(0)
    model, x = Tiny(), torch.randn(8, 4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)

    def train_step() -> None:
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()

    def state() -> list:
        return [p.detach().clone() for p in model.parameters()] + [optimizer.state_dict()["state"][0]["exp_avg"].clone()]

    def same(a: list, b: list) -> bool:
        return all(torch.equal(u, v) for u, v in zip(a, b))

    recovery = Recovery(model, optimizer, "bf16", every=2, window=5, limit=2, max_halvings=1)
    for step in range(2):
        train_step()
        recovery.good_step(step)
    assert recovery.snapshot_step == 2
    kept = state()
    train_step()
    recovery.good_step(2)
    assert not same(state(), kept)
    assert recovery.bad_step(3) and recovery.restores == [], "one non-finite gradient is only skipped"
    assert recovery.bad_step(4), "the first rung: bf16 -> fp32"
    assert recovery.precision == "fp32" and recovery.lr_scale == 1.0 and same(state(), kept)
    train_step()  # the optimizer's state moves on in place: the snapshot must not
    assert recovery.bad_step(10) and recovery.bad_step(20) and len(recovery.restores) == 1, "10 steps apart: outside the window"
    assert recovery.bad_step(21), "the second rung: the learning rate halved"
    assert recovery.lr_scale == 0.5 and same(state(), kept)
    assert recovery.bad_step(30) and not recovery.bad_step(31), "no rung left"
    assert same(state(), kept) and len(recovery.restores) == 3 and recovery.restores[-1]["move"].startswith("none left")
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    recovery.good_step(40)
    recovery.good_step(41)
    assert recovery.snapshot_step == 2, "non-finite weights are never kept"
    print("ok: recovery (snapshots, restores, the ladder) and the diagnosis of a non-finite gradient")


def main(directory: str) -> None:
    dataset = load_dataset(directory)
    print(f"{dataset.count} pictures in {len(dataset.sizes)} sizes: {dataset.sizes}")
    raw = np.fromfile(os.path.join(directory, "images.u8"), dtype=np.uint8)
    offset = 0
    for i, sample in enumerate(dataset.samples):
        h, w = sample["height"], sample["width"]
        assert np.array_equal(dataset.picture(i), raw[offset : offset + h * w * 3].reshape(h, w, 3)), f"picture {i}"
        offset += h * w * 3
    for i, canvas in dataset.canvases.items():
        assert canvas.shape == (dataset.samples[i]["canvasHeight"], dataset.samples[i]["canvasWidth"], 3)

    tokenizer = WordTokenizer()
    encoder = Encoder(tokenizer)
    table = build_examples(dataset, encoder)
    ids = encoder.ids
    templates = position_templates(table, ids.image_pad)
    make_batch = BatchMaker(table, dataset.buckets, ids, torch.device("cpu"), with_mm_token_type_ids=True,
                            position_templates=templates)
    for bucket, (h, w) in enumerate(dataset.sizes):
        rows = torch.nonzero(table.bucket == bucket).flatten()[:7]
        batch = make_batch(rows)
        n_image = image_tokens(h, w)
        gh, gw = h // PATCH_SIZE, w // PATCH_SIZE
        assert batch["pixel_values"].shape == (rows.numel() * gh * gw, 1176)
        assert batch["image_grid_thw"].tolist() == [[1, gh, gw]] * rows.numel()
        assert ((batch["input_ids"] == ids.image_pad).sum(dim=1) == n_image).all()
        for r, e in enumerate(rows.tolist()):
            picture = dataset.picture(int(table.image_index[e]))
            got = batch["pixel_values"][r * gh * gw : (r + 1) * gh * gw].numpy()
            assert np.allclose(got, naive_patches(picture), atol=1e-5), f"patches of example {e}"
            length = int(table.lengths[e])
            want = expected_positions(table.tokens[e, :length].tolist(), ids.image_pad, gh, gw)
            assert np.array_equal(batch["position_ids"][:, r, :length].numpy(), want), f"positions of example {e}"
            answer = [t for t, m in zip(batch["labels"][r].tolist(), batch["attention_mask"][r].tolist()) if m and t != -100]
            assert answer == encoder.answer(table.answers[e]), f"labels of example {e}"
    # Positions by hand for a 56x84 picture: 2x3 merged blocks, text resumes 3 after the image starts.
    pad = ids.image_pad
    hand = expected_positions([1, 2, pad, pad, pad, pad, pad, pad, 3], pad, 4, 6)
    assert hand.tolist() == [[0, 1, 2, 2, 2, 2, 2, 2, 5], [0, 1, 2, 2, 2, 3, 3, 3, 5], [0, 1, 2, 3, 4, 2, 3, 4, 5]], hand

    weights = {"describe": 0.25, "count": 0.05, "leftmost": 0.1, "color": 0.35, "exists": 0.25}
    sampler = BucketSampler(table, weights, torch.device("cpu"))
    drawn = torch.cat([sampler(256) for _ in range(200)])
    for index in (sampler(64) for _ in range(20)):
        assert torch.unique(table.bucket[index]).numel() == 1, "a batch mixes picture sizes"
    share = torch.bincount(table.kind[drawn], minlength=len(QUESTION_KINDS)).float() / drawn.numel()
    for k, kind in enumerate(QUESTION_KINDS):
        assert abs(share[k].item() - weights[kind]) < 0.03, f"{kind}: drawn {share[k].item():.3f}, asked {weights[kind]}"
    print(f"ok: {table.count} examples, batches, patches, positions and sampling check out")


if __name__ == "__main__":
    check_diagnosis()
    check_recovery()
    if len(sys.argv) > 1:
        main(sys.argv[1])
