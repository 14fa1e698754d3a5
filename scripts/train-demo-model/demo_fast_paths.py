"""Speed-ups for training, checked against transformers' own code before they are used.

With 256 small pictures a batch, transformers' Qwen2.5-VL spends most of a step in Python loops, not on the GPU
(measured on an H200 with transformers 5.17: 480 ms a step, 41 ms of it GPU work):
- `get_rope_index` walks the batch row by row (about 220 ms). A batch holds pictures of one size (one bucket,
  demo_data.py), so every row has the same layout (the same system prompt, then the picture's tokens at the same
  offset) and the M-RoPE positions are one template per bucket; passing them as `position_ids` skips that walk.
- the vision attention runs one SDPA call per picture per layer, forward and backward (about 170 ms). The
  vision window (448 pixels, demo_checkpoint.py) holds any picture the processor makes, so every attention
  segment is a whole picture, all of one length in a batch: one batched SDPA call over [pictures, heads,
  patches, head_dim] computes the same block-diagonal attention.
- the vision tower's per-picture metadata loops (rotary position ids, window index, segment lengths) depend only
  on `grid_thw`, one per bucket and batch size, so they are computed once per bucket and reused.
None of this changes the model or the saved checkpoint; the final evaluation runs transformers' code unpatched.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from demo_checkpoint import expected_positions
from demo_data import PATCH_SIZE, ExampleTable, image_tokens
from demo_eval import log


def position_templates(table: ExampleTable, image_pad: int) -> dict:
    """Per size bucket, the M-RoPE positions [3, max_len] shared by every row of the bucket; raises if a row's
    picture sits elsewhere."""
    templates = {}
    for bucket, (height, width) in enumerate(table.sizes):
        rows = torch.nonzero(table.bucket == bucket).flatten()
        if rows.numel() == 0:
            continue
        tokens = table.tokens[rows]
        n_image = image_tokens(height, width)
        first_image = int((tokens[0] == image_pad).nonzero()[0])
        is_image = tokens == image_pad
        expected = torch.zeros_like(is_image)
        expected[:, first_image : first_image + n_image] = True
        if not torch.equal(is_image, expected):
            raise RuntimeError(f"the examples of bucket {height}x{width} do not all hold their picture tokens at one offset")
        longest = int(table.lengths[rows].argmax())
        positions = expected_positions(tokens[longest].tolist(), image_pad, height // PATCH_SIZE, width // PATCH_SIZE)
        full = torch.zeros((3, table.tokens.shape[1]), dtype=torch.long)
        full[:, : positions.shape[1]] = torch.from_numpy(positions)
        templates[bucket] = full
    return templates


@contextlib.contextmanager
def batched_vision_attention():
    """Replaces Qwen2.5-VL's vision attention, while inside the block, by one batched SDPA call when every
    attention segment (cu_seqlens) has the same length; any other input goes to the original code."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen_vl

    attention_class = qwen_vl.Qwen2_5_VLVisionAttention
    original = attention_class.forward
    rotary = qwen_vl.apply_rotary_pos_emb_vision

    def forward(self, hidden_states, cu_seqlens, position_embeddings=None, max_seqlen=None, **kwargs):
        n = hidden_states.shape[0]
        lengths = cu_seqlens[1:] - cu_seqlens[:-1]
        chunk = n // max(1, lengths.numel())
        if position_embeddings is None or chunk == 0 or n % chunk or lengths.numel() != n // chunk or not bool((lengths == chunk).all()):
            return original(self, hidden_states, cu_seqlens, position_embeddings=position_embeddings,
                            max_seqlen=max_seqlen, **kwargs)
        q, k, v = self.qkv(hidden_states).reshape(n, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        cos, sin = position_embeddings
        q, k = rotary(q, k, cos, sin)

        def segments(t: torch.Tensor) -> torch.Tensor:  # [n, heads, d] -> [n / chunk, heads, chunk, d]
            return t.reshape(n // chunk, chunk, self.num_heads, -1).transpose(1, 2)

        out = F.scaled_dot_product_attention(segments(q), segments(k), segments(v), scale=self.scaling)
        return self.proj(out.transpose(1, 2).reshape(n, -1))

    attention_class.forward = forward
    try:
        yield
    finally:
        attention_class.forward = original


# Per-picture Python loops of transformers' vision tower, over `grid_thw` alone (qwen2_vl/vision_utils.py): a
# training batch holds a fixed number of pictures of one size bucket, so each result is computed once per bucket.
VISION_METADATA_FUNCTIONS = ("get_vision_position_ids", "get_vision_attention_seqlens", "get_vision_window_index")


def _cache_by_grid(function):
    cache = {}

    def cached(grid_thw, *args, **kwargs):
        extra = kwargs.get("kwargs")
        if extra:  # precomputed values were passed in: let transformers use them
            return function(grid_thw, *args, **kwargs)
        key = (tuple(grid_thw.shape), tuple(grid_thw[0].tolist()) if grid_thw.numel() else (), grid_thw.device,
               tuple(map(id, args)), tuple((k, id(v)) for k, v in sorted(kwargs.items()) if k != "kwargs"))
        hit = cache.get(key)
        if hit is not None and torch.equal(hit[0], grid_thw):
            return hit[1]
        result = function(grid_thw, *args, **kwargs)
        cache[key] = (grid_thw.clone(), result)
        return result

    return cached


@contextlib.contextmanager
def fast_vision_tower():
    """Both vision speed-ups: batched attention and cached per-picture metadata."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen_vl

    originals = {name: getattr(qwen_vl, name) for name in VISION_METADATA_FUNCTIONS if hasattr(qwen_vl, name)}
    for name, function in originals.items():
        setattr(qwen_vl, name, _cache_by_grid(function))
    try:
        with batched_vision_attention():
            yield
    finally:
        for name, function in originals.items():
            setattr(qwen_vl, name, function)


@torch.no_grad()
def check_fast_paths(model, batch: dict, template: torch.Tensor) -> bool:
    """True when, on `batch` in float32, the template positions equal transformers' `get_rope_index` and the
    logits with both speed-ups equal transformers' own forward pass. Logs what differs otherwise."""
    was_training = model.training
    model.eval()
    try:
        mask = batch["attention_mask"].bool()
        width = batch["input_ids"].shape[1]
        theirs, _ = model.model.get_rope_index(
            batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"], image_grid_thw=batch["image_grid_thw"],
            attention_mask=batch["attention_mask"],
        )
        ours = template[:, :width].to(theirs.device).unsqueeze(1).expand_as(theirs)
        if not torch.equal(ours[:, mask], theirs[:, mask]):
            log("WARNING: the position template differs from get_rope_index; training without speed-ups")
            return False
        reference = model(**batch, use_cache=False).logits[mask]
        with fast_vision_tower():
            model(**batch, position_ids=ours, use_cache=False)  # fills the metadata cache
            fast = model(**batch, position_ids=ours, use_cache=False).logits[mask]
        diff = (fast - reference).abs().max().item()
        scale = reference.abs().max().item()
        log(f"speed-ups checked: logits differ by at most {diff:.2e} (largest logit {scale:.2f})")
        if not diff <= 1e-4 * max(1.0, scale):
            log("WARNING: the speed-ups change the logits; training without them")
            return False
        return True
    finally:
        model.train(was_training)
