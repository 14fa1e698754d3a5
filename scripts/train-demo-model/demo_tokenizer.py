"""The demo model's tokenizer: a small byte-level BPE trained on the shapes texts, laid out like Qwen2's.

Everything but the vocabulary mirrors the real Qwen2 tokenizer.json (NFC normalizer; the Qwen2 split regex, then
ByteLevel without prefix space; ByteLevel post-processor and decoder; a BPE model with no unk token), so Iris
tokenizes the demo model through the same code path as a real Qwen2.5-VL checkpoint. The Qwen special tokens
follow the BPE vocabulary directly, in Qwen's order.
"""

from __future__ import annotations

import json
import os
from typing import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

# Qwen's special tokens, in the order of their ids (151643.. in the real vocabulary).
QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# The pre-tokenizer split pattern of Qwen2's tokenizer.json.
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}

# The non-vocabulary parts of Qwen2's tokenizer.json, imposed on the trained tokenizer.
QWEN2_LAYOUT = {
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
            dict(_BYTE_LEVEL),
        ],
    },
    "post_processor": dict(_BYTE_LEVEL),
    "decoder": dict(_BYTE_LEVEL),
}

QWEN2_BPE_FIELDS = {
    "dropout": None,
    "unk_token": None,
    "continuing_subword_prefix": "",
    "end_of_word_suffix": "",
    "fuse_unk": False,
    "byte_fallback": False,
    "ignore_merges": False,
}


class SpecialIds:
    """Ids of the special tokens the model config and the training code need."""

    def __init__(self, tokenizer: Tokenizer):
        def must(token: str) -> int:
            token_id = tokenizer.token_to_id(token)
            if token_id is None:
                raise RuntimeError(f"tokenizer lacks {token}")
            return token_id

        self.endoftext = must("<|endoftext|>")
        self.im_start = must("<|im_start|>")
        self.im_end = must("<|im_end|>")
        self.vision_start = must("<|vision_start|>")
        self.vision_end = must("<|vision_end|>")
        self.vision_pad = must("<|vision_pad|>")
        self.image_pad = must("<|image_pad|>")
        self.video_pad = must("<|video_pad|>")


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Trains the byte-level BPE on `texts`, then appends the Qwen special tokens after its vocabulary."""
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)

    spec = json.loads(bpe.to_str())
    spec.update(json.loads(json.dumps(QWEN2_LAYOUT)))
    spec["added_tokens"] = []
    spec["model"].update(QWEN2_BPE_FIELDS)
    tokenizer = Tokenizer.from_str(json.dumps(spec))

    base = tokenizer.get_vocab_size(with_added_tokens=False)
    if sorted(tokenizer.get_vocab(with_added_tokens=False).values()) != list(range(base)):
        raise RuntimeError("the BPE vocabulary ids are not 0..n-1")
    tokenizer.add_special_tokens(
        [AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True) for t in QWEN_SPECIAL_TOKENS]
    )
    for offset, token in enumerate(QWEN_SPECIAL_TOKENS):
        if tokenizer.token_to_id(token) != base + offset:
            raise RuntimeError(f"{token} got id {tokenizer.token_to_id(token)}, expected {base + offset}")
    if tokenizer.get_vocab_size(with_added_tokens=True) != base + len(QWEN_SPECIAL_TOKENS):
        raise RuntimeError("unexpected tokenizer size")
    return tokenizer


def tokenizer_config(tokenizer: Tokenizer, tokenizer_class: str) -> dict:
    """tokenizer_config.json in the Hub layout of Qwen2.5-VL: eos <|im_end|>, pad <|endoftext|>, no BOS."""
    added = {
        str(tokenizer.token_to_id(t)): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for t in QWEN_SPECIAL_TOKENS
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "bos_token": None,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 1024,
        "pad_token": "<|endoftext|>",
        "processor_class": "Qwen2_5_VLProcessor",
        "split_special_tokens": False,
        "tokenizer_class": tokenizer_class,
        "unk_token": None,
    }


def save_tokenizer(tokenizer: Tokenizer, out_dir: str, tokenizer_class: str = "Qwen2Tokenizer") -> None:
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"), pretty=True)
    write_json(os.path.join(out_dir, "tokenizer_config.json"), tokenizer_config(tokenizer, tokenizer_class))


def write_json(path: str, value: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")
