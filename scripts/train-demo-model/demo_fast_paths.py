"""Speed-ups for training, checked against transformers' own code before they are used.

With 256 small pictures a batch, transformers' Qwen2.5-VL spends most of a step in Python loops, not on the GPU
(measured on an H200 with transformers 5.17: 480 ms a step, 41 ms of it GPU work):
- `get_rope_index` walks the batch row by row (about 220 ms). Every training sequence has the same layout (the
  same system prompt, then the picture's 16 tokens at the same offset), so the M-RoPE positions are one template
  for all rows; passing them as `position_ids` skips that walk.
- the vision attention runs one SDPA call per picture per layer, forward and backward (about 170 ms). All windows
  here are whole 8x8-patch pictures, so one batched SDPA call over [pictures, heads, 64, head_dim] computes the
  same block-diagonal attention.
- the vision tower's per-picture metadata loops (rotary position ids, window index, segment lengths) depend only
  on `grid_thw`, the same in every batch, so they are computed once and reused.
None of this changes the model or the saved checkpoint; the final evaluation runs transformers' code unpatched.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from demo_checkpoint import expected_positions
from demo_data import IMAGE_TOKENS, ExampleTable
from demo_eval import log


def position_template(table: ExampleTable, image_pad: int) -> torch.Tensor:
    """M-RoPE positions [3, max_len] shared by every row of `table`; raises if a row's picture sits elsewhere."""
    tokens = table.tokens
    first_image = int((tokens[0] == image_pad).nonzero()[0])
    is_image = tokens == image_pad
    expected = torch.zeros_like(is_image)
    expected[:, first_image : first_image + IMAGE_TOKENS] = True
    if not torch.equal(is_image, expected):
        raise RuntimeError("the examples do not all hold their picture tokens at the same offset")
    longest = int(table.lengths.argmax())
    return torch.from_numpy(expected_positions(tokens[longest].tolist(), image_pad))


@contextlib.contextmanager
def batched_vision_attention(chunk: int):
    """Replaces Qwen2.5-VL's vision attention, while inside the block, by one batched SDPA call when every
    attention segment (cu_seqlens) is `chunk` patches long; any other input goes to the original code."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen_vl

    attention_class = qwen_vl.Qwen2_5_VLVisionAttention
    original = attention_class.forward
    rotary = qwen_vl.apply_rotary_pos_emb_vision

    def forward(self, hidden_states, cu_seqlens, position_embeddings=None, max_seqlen=None, **kwargs):
        n = hidden_states.shape[0]
        lengths = cu_seqlens[1:] - cu_seqlens[:-1]
        if position_embeddings is None or n % chunk or lengths.numel() != n // chunk or not bool((lengths == chunk).all()):
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


# Per-picture Python loops of transformers' vision tower, over `grid_thw` alone (qwen2_vl/vision_utils.py): the
# training batches always hold the same number of 112x112 pictures, so each result is computed once and reused.
VISION_METADATA_FUNCTIONS = ("get_vision_position_ids", "get_vision_attention_seqlens", "get_vision_window_index")


def _cache_by_grid(function):
    cache = {}

    def cached(grid_thw, *args, **kwargs):
        extra = kwargs.get("kwargs")
        if extra:  # precomputed values were passed in: let transformers use them
            return function(grid_thw, *args, **kwargs)
        key = (tuple(grid_thw.shape), grid_thw.device, tuple(map(id, args)),
               tuple((k, id(v)) for k, v in sorted(kwargs.items()) if k != "kwargs"))
        hit = cache.get(key)
        if hit is not None and torch.equal(hit[0], grid_thw):
            return hit[1]
        result = function(grid_thw, *args, **kwargs)
        cache[key] = (grid_thw.clone(), result)
        return result

    return cached


@contextlib.contextmanager
def fast_vision_tower(chunk: int):
    """Both vision speed-ups: batched attention and cached per-picture metadata."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as qwen_vl

    originals = {name: getattr(qwen_vl, name) for name in VISION_METADATA_FUNCTIONS if hasattr(qwen_vl, name)}
    for name, function in originals.items():
        setattr(qwen_vl, name, _cache_by_grid(function))
    try:
        with batched_vision_attention(chunk):
            yield
    finally:
        for name, function in originals.items():
            setattr(qwen_vl, name, function)


@torch.no_grad()
def check_fast_paths(model, batch: dict, template: torch.Tensor, chunk: int) -> bool:
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
        with fast_vision_tower(chunk):
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
