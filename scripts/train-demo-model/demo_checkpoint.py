"""The demo model's configuration and the files of its checkpoint folder besides the weights, and the checks that
Hugging Face's own processor, loaded from that folder, sees exactly the inputs the training code builds."""

from __future__ import annotations

import inspect
import os

import numpy as np
import torch
from tokenizers import Tokenizer

from demo_data import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGE_SIZE,
    MERGE_SIZE,
    PATCH_SIZE,
    TEMPORAL_PATCH_SIZE,
    PixelPatcher,
    chat_prompt,
    image_tokens,
)
from demo_tokenizer import SpecialIds, save_tokenizer, write_json

MIN_PIXELS = 56 * 56  # the Qwen2-VL processor's default minimum
# 112x112 pixels of area: 112x112 pictures pass unchanged, larger ones are scaled to about that size (at most 16
# image tokens, so the demo stays fast on any CPU).
MAX_PIXELS = IMAGE_SIZE * IMAGE_SIZE
# The vision window, in pixels: 16 merged blocks of 28, more than any side a picture of MAX_PIXELS can have, so every
# window is the whole picture (demo_fast_paths.py batches the attention on that; with 112, wide pictures would
# split into windows).
WINDOW_SIZE = 448

TEXT_HIDDEN = 192
TEXT_HEADS = 4
MROPE_SECTION = [6, 9, 9]  # sums to head_dim / 2 = 24 (temporal, height, width)
# Generator 2's pictures (many sizes, rasterizers, shades) ask more of the vision side than generator 1's did:
# 192 wide instead of 128 (4.4M parameters in all, 8.9 MB in bf16).
VISION_HIDDEN = 192
VISION_INTERMEDIATE = 512
VISION_HEADS = 4


def model_config(ids: SpecialIds, vocab_size: int, rope_theta: float):
    from transformers import Qwen2_5_VLConfig

    if sum(MROPE_SECTION) * 2 != TEXT_HIDDEN // TEXT_HEADS:
        raise ValueError("mrope_section must sum to half the text head size")
    # The vision rotary embedding covers head_dim / 2 channels split between rows and columns.
    if (VISION_HIDDEN // VISION_HEADS) % 4 != 0:
        raise ValueError("the vision head size must be a multiple of 4")
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": TEXT_HIDDEN,
        "intermediate_size": 512,
        "num_hidden_layers": 4,
        "num_attention_heads": TEXT_HEADS,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "max_position_embeddings": 1024,
        "rms_norm_eps": 1e-6,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "rope_parameters": {"rope_type": "default", "rope_theta": rope_theta, "mrope_section": list(MROPE_SECTION)},
        "bos_token_id": ids.endoftext,
        "eos_token_id": ids.im_end,
        "pad_token_id": ids.endoftext,
    }
    vision_config = {
        "depth": 4,
        "hidden_size": VISION_HIDDEN,
        "hidden_act": "silu",
        "intermediate_size": VISION_INTERMEDIATE,
        "num_heads": VISION_HEADS,
        "in_channels": 3,
        "patch_size": PATCH_SIZE,
        "spatial_merge_size": MERGE_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "window_size": WINDOW_SIZE,
        "fullatt_block_indexes": [1, 3],
        "out_hidden_size": TEXT_HIDDEN,
        "initializer_range": 0.02,
    }
    return Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids.image_pad,
        video_token_id=ids.video_pad,
        vision_start_token_id=ids.vision_start,
        vision_end_token_id=ids.vision_end,
        tie_word_embeddings=True,
    )


def check_model_config(config, ids: SpecialIds, vocab_size: int) -> None:
    """Reads back what transformers made of the config: a silently dropped field would train another model."""
    text, vision = config.text_config, config.vision_config
    expected = {
        "text.vocab_size": (text.vocab_size, vocab_size),
        "text.hidden_size": (text.hidden_size, TEXT_HIDDEN),
        "text.num_hidden_layers": (text.num_hidden_layers, 4),
        "text.num_key_value_heads": (text.num_key_value_heads, 2),
        "text.mrope_section": (list(text.rope_parameters["mrope_section"]), MROPE_SECTION),
        "vision.hidden_size": (vision.hidden_size, VISION_HIDDEN),
        "vision.depth": (vision.depth, 4),
        "vision.out_hidden_size": (vision.out_hidden_size, TEXT_HIDDEN),
        "vision.fullatt_block_indexes": (list(vision.fullatt_block_indexes), [1, 3]),
        "vision.window_size": (vision.window_size, WINDOW_SIZE),
        "image_token_id": (config.image_token_id, ids.image_pad),
        "vision_start_token_id": (config.vision_start_token_id, ids.vision_start),
    }
    wrong = {k: v for k, v in expected.items() if v[0] != v[1]}
    if wrong:
        raise RuntimeError(f"config fields differ from what was asked (got, expected): {wrong}")


def preprocessor_config() -> dict:
    return {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": CLIP_MEAN,
        "image_processor_type": "Qwen2VLImageProcessor",
        "image_std": CLIP_STD,
        "max_pixels": MAX_PIXELS,
        "merge_size": MERGE_SIZE,
        "min_pixels": MIN_PIXELS,
        "patch_size": PATCH_SIZE,
        "processor_class": "Qwen2_5_VLProcessor",
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"longest_edge": MAX_PIXELS, "shortest_edge": MIN_PIXELS},
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
    }


# The Qwen2-VL chat template's behaviour for text, images and videos: a default system turn unless the
# conversation starts with one; each image becomes <|vision_start|><|image_pad|><|vision_end|> in place.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def write_processor_files(tokenizer: Tokenizer, out_dir: str, tokenizer_class: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    save_tokenizer(tokenizer, out_dir, tokenizer_class)
    write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_config())
    write_json(os.path.join(out_dir, "chat_template.json"), {"chat_template": CHAT_TEMPLATE})


def user_turn(question: str) -> list:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def render_prompt(processor, question: str) -> str:
    rendered = processor.apply_chat_template(user_turn(question), add_generation_prompt=True, tokenize=False)
    return rendered[0] if isinstance(rendered, list) else rendered


def hf_tokenizer_matches(out_dir: str, tokenizer: Tokenizer, probes: list) -> str | None:
    """None when transformers' tokenizer loaded from `out_dir` encodes and decodes `probes` as ours does."""
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(out_dir)
    for text in probes:
        ours = tokenizer.encode(text).ids
        theirs = hf(text)["input_ids"]
        if ours != theirs:
            return f"{type(hf).__name__} encodes {text!r} as {theirs}, ours {ours}"
        if hf.decode(ours, skip_special_tokens=True) != tokenizer.decode(ours, skip_special_tokens=True):
            return f"{type(hf).__name__} decodes {ours} differently"
    return None


def expected_positions(input_ids: list, image_pad: int, grid_h: int, grid_w: int) -> np.ndarray:
    """M-RoPE positions [3, L] of a sequence with one picture of grid_h x grid_w patches: text counts up on all
    three axes; the image tokens take (t, h, w) = (p, p + row, p + column) over the merged grid; text resumes at
    p + max(merged rows, merged columns)."""
    out = np.zeros((3, len(input_ids)), dtype=np.int64)
    rows, cols = grid_h // MERGE_SIZE, grid_w // MERGE_SIZE
    pos, i = 0, 0
    while i < len(input_ids):
        if input_ids[i] == image_pad:
            for k in range(rows * cols):
                out[:, i + k] = [pos, pos + k // cols, pos + k % cols]
            i += rows * cols
            pos += max(rows, cols)
        else:
            out[:, i] = pos
            i += 1
            pos += 1
    return out


def check_against_hf_processor(out_dir: str, tokenizer: Tokenizer, ids: SpecialIds, question: str, canvas: np.ndarray,
                               view: np.ndarray, model) -> dict:
    """Loads the processor from the checkpoint folder and checks, on one picture and question, that it renders the
    prompt, tokenizes, resizes and patches the picture and places the M-RoPE positions as training does: the
    processor gets the canvas, training uses `view`, the canvas as Iris's processor resized it. Returns the
    processor's output for the record. Raises on any difference (better now than after training), except in the
    pixel values, which the caller logs: Iris resizes as training does whatever transformers does, so a
    difference there would only touch the reference outputs, not the model."""
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(out_dir)
    prompt = render_prompt(processor, question)
    if prompt != chat_prompt(question):
        raise RuntimeError(f"the chat template renders {prompt!r}, expected {chat_prompt(question)!r}")
    inputs = processor(text=[prompt], images=[Image.fromarray(canvas)], return_tensors="pt", return_mm_token_type_ids=True)
    height, width = view.shape[0], view.shape[1]
    ours = tokenizer.encode(chat_prompt(question, image_tokens(height, width))).ids
    if inputs["input_ids"][0].tolist() != ours:
        raise RuntimeError(f"processor input_ids {inputs['input_ids'][0].tolist()} differ from ours {ours}")
    grid = [1, height // PATCH_SIZE, width // PATCH_SIZE]
    if inputs["image_grid_thw"].tolist() != [grid]:
        raise RuntimeError(f"processor image_grid_thw {inputs['image_grid_thw'].tolist()}, Iris's resize gives {grid}")
    patches = PixelPatcher(torch.device("cpu"))(torch.from_numpy(np.ascontiguousarray(view)).unsqueeze(0))
    if inputs["pixel_values"].shape != patches.shape:
        raise RuntimeError(f"processor pixel_values {tuple(inputs['pixel_values'].shape)}, ours {tuple(patches.shape)}")
    diff = (inputs["pixel_values"].float() - patches).abs()
    if "mm_token_type_ids" not in inputs:
        raise RuntimeError("the processor returned no mm_token_type_ids, which this transformers needs for M-RoPE")
    if inputs["mm_token_type_ids"][0].tolist() != [int(t == ids.image_pad) for t in ours]:
        raise RuntimeError("processor mm_token_type_ids differ from ours")

    get_rope_index = model.model.get_rope_index
    params = inspect.signature(get_rope_index).parameters
    candidates = {k: inputs.get(k) for k in ("input_ids", "mm_token_type_ids", "image_grid_thw", "attention_mask")}
    position_ids, _ = get_rope_index(**{k: v.to(model.device) for k, v in candidates.items() if k in params and v is not None})
    want = expected_positions(ours, ids.image_pad, grid[1], grid[2])
    got = position_ids[:, 0, :].cpu().numpy()
    if got.shape != want.shape or not (got == want).all():
        raise RuntimeError(f"M-RoPE positions from transformers:\n{got}\ndiffer from the expected:\n{want}")
    return {"pixel_values_max_diff": diff.max().item(), "pixel_values_differing": int((diff > 1e-4).sum()),
            "prompt_tokens": len(ours), "grid": grid}
