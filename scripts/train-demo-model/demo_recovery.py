"""Recovery from non-finite gradients, so that a run produces a checkpoint whatever happens.

A batch whose gradient norm is not finite is skipped (clipping by a non-finite norm would turn every weight into
NaN). Skipped batches alone do not end a run: the generator-2 runs in bf16 hit one every few steps once they
started (README.md, "Runs"). So the weights and AdamW's state are kept on the GPU every 100 good steps (4.4M
parameters and two moments: about 55 MB), and when non-finite gradients come back (3 within 50 steps, or a
non-finite mean loss) the last snapshot is restored and the run steps down a ladder, one rung a time:
bf16 -> fp32 (if in bf16), then the learning rate halved (a scale on the schedule), at most 3 times; when no rung
is left, training ends with the restored, finite weights, which train.py saves and scores as usual.
"""

from __future__ import annotations

import copy

import torch

from demo_eval import log


class Recovery:
    def __init__(self, model, optimizer, precision: str, every: int = 100, window: int = 50, limit: int = 3,
                 max_halvings: int = 3):
        self.params = list(model.parameters())  # unique: the tied lm_head/embedding weight appears once
        self.optimizer = optimizer
        self.precision = precision
        self.lr_scale = 1.0
        self.every, self.window, self.limit, self.max_halvings = every, window, limit, max_halvings
        self.halvings = 0
        self.good_steps = 0
        self.recent_bad = []  # steps of non-finite gradients since the last restore
        self.restores = []  # one entry per restore, for training_summary.json
        self.snapshot_step = 0
        self.snapshot(0)  # the initial weights: something to go back to even before the first 100 steps

    @torch.no_grad()
    def weights_finite(self) -> bool:
        return bool(torch.stack([torch.isfinite(p).all() for p in self.params]).all())

    @torch.no_grad()
    def snapshot(self, step: int) -> None:
        """Keeps the weights and AdamW's state as they are before training step `step`."""
        self._weights = [p.detach().clone() for p in self.params]
        # deepcopy clones the state's tensors (on their device): the live optimizer updates its own in place.
        self._optimizer_state = copy.deepcopy(self.optimizer.state_dict())
        self.snapshot_step = step

    @torch.no_grad()
    def restore(self) -> None:
        for p, kept in zip(self.params, self._weights):
            p.copy_(kept)
        # load_state_dict keeps the tensors it is given when their device and dtype already fit: hand it a copy, so
        # the snapshot stays untouched for a later restore.
        self.optimizer.load_state_dict(copy.deepcopy(self._optimizer_state))
        self.optimizer.zero_grad(set_to_none=True)

    def good_step(self, step: int) -> None:
        """After the optimizer stepped at `step`; every `every` good steps the state is kept if it is finite."""
        self.good_steps += 1
        if self.good_steps % self.every == 0 and self.weights_finite():
            self.snapshot(step + 1)

    def bad_step(self, step: int) -> bool:
        """A non-finite gradient at `step` (its batch was skipped). Returns False when training must end."""
        self.recent_bad = [s for s in self.recent_bad if s > step - self.window] + [step]
        if len(self.recent_bad) < self.limit:
            return True
        return self.step_down(step, f"{len(self.recent_bad)} non-finite gradients within {self.window} steps "
                                    f"(steps {', '.join(map(str, self.recent_bad))})")

    def step_down(self, step: int, reason: str) -> bool:
        """Restores the last snapshot and takes the next rung of the ladder; False when none is left (the restored
        weights stay: training ends with them)."""
        self.restore()
        self.recent_bad = []
        if self.precision == "bf16":
            self.precision = "fp32"
            move = "precision bf16 -> fp32"
        elif self.halvings < self.max_halvings:
            self.halvings += 1
            self.lr_scale /= 2
            move = f"learning rate halved (scale {self.lr_scale:g})"
        else:
            move = None
        self.restores.append({"step": step, "reason": reason, "restored_to_step": self.snapshot_step,
                              "move": move or "none left: training ends"})
        log(f"WARNING: {reason} at step {step}: restored the weights and optimizer state of step "
            f"{self.snapshot_step}; " + (f"{move}" if move else "no rung left on the ladder: training ends here"))
        return move is not None

    def summary(self) -> dict:
        return {"restores": self.restores, "final_precision": self.precision, "final_lr_scale": self.lr_scale,
                "snapshot_step": self.snapshot_step}
