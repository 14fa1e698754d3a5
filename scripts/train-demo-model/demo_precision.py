"""The arithmetic the demo model trains and is scored in: "fp32" (the default) or "bf16" autocast.

Both generator-2 runs in bf16 autocast died of non-finite gradients 250-350 steps in (README.md, "Runs"). The model
is small (4.4M parameters) and a step is bound by Python and kernel launches rather than arithmetic, so float32
with TF32 matrix products costs little time; bf16 stays available with `--precision bf16`.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "bf16")


def allow_tf32(enabled: bool) -> None:
    """TF32 matrix products and convolutions in float32 (on for training, off for the final float32 scoring).
    Only the long-standing `allow_tf32` flags are used, as train.py always has: torch 2.9+ objects to a mix of
    these and its newer `fp32_precision` settings."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def autocast(precision: str, device) -> contextlib.AbstractContextManager:
    """The forward pass's context: bf16 autocast for "bf16" on a GPU, nothing otherwise (float32 weights and
    activations; the CPU always runs float32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
