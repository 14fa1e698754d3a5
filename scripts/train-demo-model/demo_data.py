"""Shapes data sets (written by Iris's src/demo/shapes/write-dataset.ts) turned into model inputs.

A data set directory holds meta.json, images.u8 (N pictures of 112x112x3 uint8, HWC) and samples.jsonl (one
record per picture: seed, description, questions with answers). Each (picture, question) pair is one example:
the prompt as SGLang's qwen2-vl template renders one user turn with the image first, then the answer and
<|im_end|>; the loss covers only the answer and that final <|im_end|>.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer

from demo_tokenizer import SpecialIds

IMAGE_SIZE = 112
PATCH_SIZE = 14
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
GRID = IMAGE_SIZE // PATCH_SIZE  # 8 patches per side
PATCHES_PER_IMAGE = GRID * GRID  # 64
IMAGE_TOKENS = PATCHES_PER_IMAGE // (MERGE_SIZE * MERGE_SIZE)  # 16
PATCH_DIM = 3 * TEMPORAL_PATCH_SIZE * PATCH_SIZE * PATCH_SIZE  # 1176
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
SUPPORTED_GENERATOR_VERSION = 1

SYSTEM_PROMPT = "You are a helpful assistant."
QUESTION_KINDS = ["describe", "count", "leftmost", "color", "exists"]


def chat_prompt(question: str, image_tokens: int = 1) -> str:
    """One user turn, image first, as SGLang's qwen2-vl template renders it, with `image_tokens` image pads."""
    return (
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"
        f"<|im_start|>user\n<|vision_start|>{'<|image_pad|>' * image_tokens}<|vision_end|>{question}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def answer_text(answer: str) -> str:
    return f"{answer}<|im_end|>"


@dataclass
class ShapesDataset:
    directory: str
    meta: dict
    images: np.ndarray  # [N, 112, 112, 3] uint8
    samples: list  # one dict per picture

    @property
    def count(self) -> int:
        return len(self.samples)


def load_dataset(directory: str) -> ShapesDataset:
    meta_path = os.path.join(directory, "meta.json")
    if not os.path.exists(meta_path):
        raise SystemExit(f"{directory}: no meta.json; the data set is missing or was not finished")
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("generatorVersion") != SUPPORTED_GENERATOR_VERSION:
        raise SystemExit(f"{directory}: generator version {meta.get('generatorVersion')}, this script reads {SUPPORTED_GENERATOR_VERSION}")
    if (meta["width"], meta["height"], meta["channels"]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise SystemExit(f"{directory}: pictures are {meta['width']}x{meta['height']}x{meta['channels']}, expected 112x112x3")
    count = meta["count"]
    raw = np.fromfile(os.path.join(directory, meta["imagesFile"]), dtype=np.uint8)
    if raw.size != count * IMAGE_SIZE * IMAGE_SIZE * 3:
        raise SystemExit(f"{directory}: images file holds {raw.size} bytes, expected {count} pictures")
    with open(os.path.join(directory, meta["samplesFile"]), encoding="utf-8") as f:
        samples = [json.loads(line) for line in f if line.strip()]
    if len(samples) != count or any(s["index"] != i for i, s in enumerate(samples)):
        raise SystemExit(f"{directory}: samples.jsonl does not list pictures 0..{count - 1} in order")
    return ShapesDataset(directory, meta, raw.reshape(count, IMAGE_SIZE, IMAGE_SIZE, 3), samples)


def dataset_texts(dataset: ShapesDataset):
    """Every text the model reads or writes, for training the tokenizer (template text once per picture)."""
    for sample in dataset.samples:
        yield f"system\n{SYSTEM_PROMPT}"
        yield "\n"
        yield "user\n"
        yield "assistant\n"
        yield sample["description"]
        for qa in sample["questions"]:
            yield qa["question"]
            yield qa["answer"]


class Encoder:
    """Token ids of prompts and answers, cached: questions and short answers repeat endlessly."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.ids = SpecialIds(tokenizer)
        self._prompts: dict[str, list[int]] = {}
        self._answers: dict[str, list[int]] = {}

    def prompt(self, question: str) -> list[int]:
        ids = self._prompts.get(question)
        if ids is None:
            ids = self.tokenizer.encode(chat_prompt(question, IMAGE_TOKENS)).ids
            if ids.count(self.ids.image_pad) != IMAGE_TOKENS:
                raise RuntimeError(f"prompt for {question!r} has {ids.count(self.ids.image_pad)} image tokens")
            self._prompts[question] = ids
        return ids

    def answer(self, answer: str) -> list[int]:
        ids = self._answers.get(answer)
        if ids is None:
            ids = self.tokenizer.encode(answer_text(answer)).ids
            if ids[-1] != self.ids.im_end or self.ids.im_end in ids[:-1]:
                raise RuntimeError(f"answer {answer!r} does not encode to text then <|im_end|>")
            self._answers[answer] = ids
        return ids

    def check_split(self, question: str, answer: str) -> None:
        """The prompt and the answer tokenized apart equal the whole tokenized at once (no merge across)."""
        whole = self.tokenizer.encode(chat_prompt(question, IMAGE_TOKENS) + answer_text(answer)).ids
        if whole != self.prompt(question) + self.answer(answer):
            raise RuntimeError(f"tokenizing {question!r} / {answer!r} apart differs from tokenizing it whole")


@dataclass
class ExampleTable:
    """All (picture, question) examples of a data set as padded token rows (on the CPU)."""

    tokens: torch.Tensor  # [E, max_len] int64, padded with <|endoftext|>
    lengths: torch.Tensor  # [E] prompt + answer tokens
    prompt_lengths: torch.Tensor  # [E]
    image_index: torch.Tensor  # [E] picture of each example
    kind: torch.Tensor  # [E] index into QUESTION_KINDS
    answers: list  # [E] expected answer text
    questions: list  # [E] question text

    @property
    def count(self) -> int:
        return self.tokens.shape[0]


def build_examples(dataset: ShapesDataset, encoder: Encoder) -> ExampleTable:
    rows, prompt_lengths, image_index, kinds, answers, questions = [], [], [], [], [], []
    for i, sample in enumerate(dataset.samples):
        for qa in sample["questions"]:
            prompt = encoder.prompt(qa["question"])
            rows.append(prompt + encoder.answer(qa["answer"]))
            prompt_lengths.append(len(prompt))
            image_index.append(i)
            kinds.append(QUESTION_KINDS.index(qa["kind"]))
            answers.append(qa["answer"])
            questions.append(qa["question"])
    first = dataset.samples[0]["questions"]
    for qa in first:
        encoder.check_split(qa["question"], qa["answer"])
    lengths = [len(r) for r in rows]
    tokens = np.full((len(rows), max(lengths)), encoder.ids.endoftext, dtype=np.int64)
    for r, row in enumerate(rows):
        tokens[r, : len(row)] = row
    return ExampleTable(
        tokens=torch.from_numpy(tokens),
        lengths=torch.tensor(lengths),
        prompt_lengths=torch.tensor(prompt_lengths),
        image_index=torch.tensor(image_index),
        kind=torch.tensor(kinds),
        answers=answers,
        questions=questions,
    )


class PixelPatcher:
    """Pictures to the Qwen2-VL processor's `pixel_values`, computed as it does for a 112x112 input (no resize):
    rescale and normalize with the CLIP mean and std, repeat the frame to 2 temporal slices, then flatten 14x14
    patches in 2x2 merge-block order, each row laid out channel, time, row, column."""

    def __init__(self, device: torch.device):
        self.mean = torch.tensor(CLIP_MEAN, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(CLIP_STD, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
            raise ValueError(f"expected uint8 [B, 112, 112, 3] pictures, got {images.dtype} {tuple(images.shape)}")
        b = images.shape[0]
        x = (images.permute(0, 3, 1, 2).float() - self.mean) / self.std  # [B, C, H, W]
        x = x.unsqueeze(1).expand(b, TEMPORAL_PATCH_SIZE, 3, IMAGE_SIZE, IMAGE_SIZE)
        half = GRID // MERGE_SIZE
        x = x.reshape(b, 1, TEMPORAL_PATCH_SIZE, 3, half, MERGE_SIZE, PATCH_SIZE, half, MERGE_SIZE, PATCH_SIZE)
        # -> [B, grid_t, h/2, w/2, mh, mw, C, t, ph, pw]
        x = x.permute(0, 1, 4, 7, 5, 8, 3, 2, 6, 9)
        return x.reshape(b * PATCHES_PER_IMAGE, PATCH_DIM).contiguous()


def grid_thw(batch: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([[1, GRID, GRID]] * batch, dtype=torch.long, device=device)


class BatchMaker:
    """Model inputs for a set of example indices, exactly as the processor would give them, plus labels."""

    def __init__(self, table: ExampleTable, images_on_device: torch.Tensor, ids: SpecialIds, device: torch.device,
                 with_mm_token_type_ids: bool, position_template: torch.Tensor | None = None):
        self.table = table
        # When given, [3, max_len] M-RoPE positions shared by all rows, passed as `position_ids` (demo_fast_paths.py).
        self.position_template = None if position_template is None else position_template.to(device)
        self.images = images_on_device
        self.ids = ids
        self.device = device
        self.patcher = PixelPatcher(device)
        self.with_mm_token_type_ids = with_mm_token_type_ids
        self.tokens = table.tokens.to(device)
        self.lengths = table.lengths.to(device)
        self.prompt_lengths = table.prompt_lengths.to(device)
        self.image_index = table.image_index.to(device)

    def __call__(self, index: torch.Tensor, with_labels: bool = True, prompt_only: bool = False) -> dict:
        index = index.to(self.device)
        lengths = self.prompt_lengths[index] if prompt_only else self.lengths[index]
        width = int(lengths.max().item())
        tokens = self.tokens[index, :width]
        positions = torch.arange(width, device=self.device).unsqueeze(0)
        attention_mask = (positions < lengths.unsqueeze(1)).long()
        tokens = torch.where(attention_mask.bool(), tokens, torch.full_like(tokens, self.ids.endoftext))
        batch = {
            "input_ids": tokens,
            "attention_mask": attention_mask,
            "pixel_values": self.patcher(self.images[self.image_index[index]]),
            "image_grid_thw": grid_thw(index.shape[0], self.device),
        }
        if self.with_mm_token_type_ids:
            batch["mm_token_type_ids"] = (tokens == self.ids.image_pad).int()
        if self.position_template is not None:
            batch["position_ids"] = self.position_template[:, :width].unsqueeze(1).expand(3, index.shape[0], width)
        if with_labels:
            answer_part = (positions >= self.prompt_lengths[index].unsqueeze(1)) & attention_mask.bool()
            batch["labels"] = torch.where(answer_part, tokens, torch.full_like(tokens, -100))
        return batch
