"""Shapes data sets (written by Iris's src/demo/shapes/write-dataset.ts) turned into model inputs.

A data set directory holds meta.json, images.u8 and samples.jsonl (one record per picture: seed, description,
questions with answers). Generator 1: every picture 112x112x3 uint8 (HWC). Generator 2 (drawing-dataset.ts):
each picture is stored as the demo model's processor resizes it, `height` x `width` from its record (multiples of
28 with at most 112x112 pixels of area), back to back; with `canvases` in meta.json, canvases.u8 also holds the
first pictures at their canvas size (`canvasHeight` x `canvasWidth`), for the reference outputs.

Pictures of one size form a bucket; a training batch holds pictures of one bucket, so every row has the same
image-token count and layout (demo_fast_paths.py relies on that). Each (picture, question) pair is one example:
the prompt as SGLang's qwen2-vl template renders one user turn with the image first, then the answer and
<|im_end|>; the loss covers only the answer and that final <|im_end|>.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from tokenizers import Tokenizer

from demo_tokenizer import SpecialIds

IMAGE_SIZE = 112
PATCH_SIZE = 14
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
BLOCK = PATCH_SIZE * MERGE_SIZE  # 28: picture sides are multiples of this
PATCH_DIM = 3 * TEMPORAL_PATCH_SIZE * PATCH_SIZE * PATCH_SIZE  # 1176
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
SUPPORTED_GENERATOR_VERSIONS = (1, 2)

SYSTEM_PROMPT = "You are a helpful assistant."
QUESTION_KINDS = ["describe", "count", "leftmost", "color", "exists"]


def image_tokens(height: int, width: int) -> int:
    """Image tokens of a processed picture: one per 2x2 block of 14-pixel patches."""
    return (height // BLOCK) * (width // BLOCK)


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
    samples: list  # one dict per picture
    sizes: list  # (height, width) of each bucket
    buckets: list  # per bucket: uint8 [n, height, width, 3]
    picture_bucket: np.ndarray  # [N] bucket of each picture
    picture_slot: np.ndarray  # [N] row of each picture in its bucket
    canvases: dict = field(default_factory=dict)  # picture index -> uint8 [H, W, 3], for the first pictures

    @property
    def count(self) -> int:
        return len(self.samples)

    def picture(self, index: int) -> np.ndarray:
        return self.buckets[self.picture_bucket[index]][self.picture_slot[index]]


def _read_records(directory: str, meta: dict) -> list:
    with open(os.path.join(directory, meta["samplesFile"]), encoding="utf-8") as f:
        samples = [json.loads(line) for line in f if line.strip()]
    if len(samples) != meta["count"] or any(s["index"] != i for i, s in enumerate(samples)):
        raise SystemExit(f"{directory}: samples.jsonl does not list pictures 0..{meta['count'] - 1} in order")
    return samples


def _split_pictures(raw: np.ndarray, shapes: list, directory: str, what: str) -> list:
    """The pictures of a back-to-back file, given each one's (height, width)."""
    sizes = [h * w * 3 for h, w in shapes]
    if raw.size != sum(sizes):
        raise SystemExit(f"{directory}: {what} holds {raw.size} bytes, expected {sum(sizes)}")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return [raw[offsets[i]: offsets[i + 1]].reshape(h, w, 3) for i, (h, w) in enumerate(shapes)]


def load_dataset(directory: str) -> ShapesDataset:
    meta_path = os.path.join(directory, "meta.json")
    if not os.path.exists(meta_path):
        raise SystemExit(f"{directory}: no meta.json; the data set is missing or was not finished")
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    version = meta.get("generatorVersion")
    if version not in SUPPORTED_GENERATOR_VERSIONS:
        raise SystemExit(f"{directory}: generator version {version}, this script reads {SUPPORTED_GENERATOR_VERSIONS}")
    samples = _read_records(directory, meta)
    if version == 1:
        shapes = [(IMAGE_SIZE, IMAGE_SIZE)] * len(samples)
    else:
        shapes = [(s["height"], s["width"]) for s in samples]
    for h, w in set(shapes):
        if h % BLOCK or w % BLOCK or h * w > IMAGE_SIZE * IMAGE_SIZE or h * w < 56 * 56:
            raise SystemExit(f"{directory}: a picture of {w}x{h} is not what the processor makes")
    raw = np.fromfile(os.path.join(directory, meta["imagesFile"]), dtype=np.uint8)
    pictures = _split_pictures(raw, shapes, directory, meta["imagesFile"])
    sizes = sorted(set(shapes))
    bucket_of = {size: b for b, size in enumerate(sizes)}
    picture_bucket = np.array([bucket_of[s] for s in shapes], dtype=np.int64)
    picture_slot = np.zeros(len(shapes), dtype=np.int64)
    buckets = []
    for b, size in enumerate(sizes):
        members = np.nonzero(picture_bucket == b)[0]
        picture_slot[members] = np.arange(members.size)
        buckets.append(np.stack([pictures[i] for i in members]))
    canvases = {}
    if meta.get("canvases"):
        kept = meta["canvases"]
        canvas_raw = np.fromfile(os.path.join(directory, meta["canvasesFile"]), dtype=np.uint8)
        canvas_shapes = [(s["canvasHeight"], s["canvasWidth"]) for s in samples[:kept]]
        canvases = dict(enumerate(_split_pictures(canvas_raw, canvas_shapes, directory, meta["canvasesFile"])))
    return ShapesDataset(directory, meta, samples, sizes, buckets, picture_bucket, picture_slot, canvases)


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
        self._prompts: dict[tuple, list[int]] = {}
        self._answers: dict[str, list[int]] = {}

    def prompt(self, question: str, n_image_tokens: int) -> list[int]:
        key = (question, n_image_tokens)
        ids = self._prompts.get(key)
        if ids is None:
            ids = self.tokenizer.encode(chat_prompt(question, n_image_tokens)).ids
            if ids.count(self.ids.image_pad) != n_image_tokens:
                raise RuntimeError(f"prompt for {question!r} has {ids.count(self.ids.image_pad)} image tokens")
            self._prompts[key] = ids
        return ids

    def answer(self, answer: str) -> list[int]:
        ids = self._answers.get(answer)
        if ids is None:
            ids = self.tokenizer.encode(answer_text(answer)).ids
            if ids[-1] != self.ids.im_end or self.ids.im_end in ids[:-1]:
                raise RuntimeError(f"answer {answer!r} does not encode to text then <|im_end|>")
            self._answers[answer] = ids
        return ids

    def check_split(self, question: str, answer: str, n_image_tokens: int) -> None:
        """The prompt and the answer tokenized apart equal the whole tokenized at once (no merge across)."""
        whole = self.tokenizer.encode(chat_prompt(question, n_image_tokens) + answer_text(answer)).ids
        if whole != self.prompt(question, n_image_tokens) + self.answer(answer):
            raise RuntimeError(f"tokenizing {question!r} / {answer!r} apart differs from tokenizing it whole")


@dataclass
class ExampleTable:
    """All (picture, question) examples of a data set as padded token rows (on the CPU)."""

    tokens: torch.Tensor  # [E, max_len] int64, padded with <|endoftext|>
    lengths: torch.Tensor  # [E] prompt + answer tokens
    prompt_lengths: torch.Tensor  # [E]
    image_index: torch.Tensor  # [E] picture of each example
    bucket: torch.Tensor  # [E] size bucket of its picture (ShapesDataset.sizes)
    slot: torch.Tensor  # [E] row of its picture in the bucket
    kind: torch.Tensor  # [E] index into QUESTION_KINDS
    answers: list  # [E] expected answer text
    questions: list  # [E] question text
    sizes: list  # (height, width) of each bucket

    @property
    def count(self) -> int:
        return self.tokens.shape[0]


def build_examples(dataset: ShapesDataset, encoder: Encoder) -> ExampleTable:
    rows, prompt_lengths, image_index, kinds, answers, questions = [], [], [], [], [], []
    for i, sample in enumerate(dataset.samples):
        h, w = dataset.sizes[dataset.picture_bucket[i]]
        n_image = image_tokens(h, w)
        for qa in sample["questions"]:
            prompt = encoder.prompt(qa["question"], n_image)
            rows.append(prompt + encoder.answer(qa["answer"]))
            prompt_lengths.append(len(prompt))
            image_index.append(i)
            kinds.append(QUESTION_KINDS.index(qa["kind"]))
            answers.append(qa["answer"])
            questions.append(qa["question"])
    for b, (h, w) in enumerate(dataset.sizes):
        for qa in dataset.samples[int(np.nonzero(dataset.picture_bucket == b)[0][0])]["questions"]:
            encoder.check_split(qa["question"], qa["answer"], image_tokens(h, w))
    lengths = [len(r) for r in rows]
    tokens = np.full((len(rows), max(lengths)), encoder.ids.endoftext, dtype=np.int64)
    for r, row in enumerate(rows):
        tokens[r, : len(row)] = row
    image_index = torch.tensor(image_index)
    return ExampleTable(
        tokens=torch.from_numpy(tokens),
        lengths=torch.tensor(lengths),
        prompt_lengths=torch.tensor(prompt_lengths),
        image_index=image_index,
        bucket=torch.from_numpy(dataset.picture_bucket)[image_index],
        slot=torch.from_numpy(dataset.picture_slot)[image_index],
        kind=torch.tensor(kinds),
        answers=answers,
        questions=questions,
        sizes=list(dataset.sizes),
    )


class BucketSampler:
    """Draws training batches: a size bucket with probability its share of the example weight, then examples of
    that bucket by their weight (each kind's share set by --kind-weights). One bucket a batch keeps the rows'
    layout equal (demo_data.py); over many steps every example is drawn as often as without buckets."""

    def __init__(self, table: ExampleTable, weights: dict, device: torch.device):
        counts = torch.bincount(table.kind, minlength=len(QUESTION_KINDS)).float()
        per_example = torch.tensor([weights.get(k, 0.0) for k in QUESTION_KINDS])[table.kind] / counts[table.kind].clamp(min=1)
        self.members, self.weights, mass = [], [], []
        for b in range(len(table.sizes)):
            rows = torch.nonzero(table.bucket == b).flatten()
            self.members.append(rows.to(device))
            self.weights.append(per_example[rows].to(device))
            mass.append(float(per_example[rows].sum()))
        self.mass = torch.tensor(mass)

    def __call__(self, batch_size: int) -> torch.Tensor:
        b = int(torch.multinomial(self.mass, 1))
        return self.members[b][torch.multinomial(self.weights[b], batch_size, replacement=True)]


class PixelPatcher:
    """Processed pictures to the Qwen2-VL processor's `pixel_values`, computed as it does after its resize:
    rescale and normalize with the CLIP mean and std, repeat the frame to 2 temporal slices, then flatten 14x14
    patches in 2x2 merge-block order, each row laid out channel, time, row, column."""

    def __init__(self, device: torch.device):
        self.mean = torch.tensor(CLIP_MEAN, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(CLIP_STD, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        b, height, width = images.shape[0], images.shape[1], images.shape[2]
        if images.dtype != torch.uint8 or images.shape[3] != 3 or height % BLOCK or width % BLOCK:
            raise ValueError(f"expected uint8 [B, H, W, 3] pictures with sides multiple of 28, got {images.dtype} {tuple(images.shape)}")
        x = (images.permute(0, 3, 1, 2).float() - self.mean) / self.std  # [B, C, H, W]
        x = x.unsqueeze(1).expand(b, TEMPORAL_PATCH_SIZE, 3, height, width)
        hb, wb = height // BLOCK, width // BLOCK
        x = x.reshape(b, 1, TEMPORAL_PATCH_SIZE, 3, hb, MERGE_SIZE, PATCH_SIZE, wb, MERGE_SIZE, PATCH_SIZE)
        # -> [B, grid_t, h/2, w/2, mh, mw, C, t, ph, pw]
        x = x.permute(0, 1, 4, 7, 5, 8, 3, 2, 6, 9)
        return x.reshape(b * hb * wb * MERGE_SIZE * MERGE_SIZE, PATCH_DIM).contiguous()


def grid_thw(batch: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([[1, height // PATCH_SIZE, width // PATCH_SIZE]] * batch, dtype=torch.long, device=device)


class BatchMaker:
    """Model inputs for a set of example indices of one size bucket, exactly as the processor would give them,
    plus labels."""

    def __init__(self, table: ExampleTable, buckets: list, ids: SpecialIds, device: torch.device,
                 with_mm_token_type_ids: bool, position_templates: dict | None = None):
        self.table = table
        # When given, bucket -> [3, max_len] M-RoPE positions shared by the bucket's rows, passed as `position_ids`
        # (demo_fast_paths.py).
        self.position_templates = position_templates
        self.images = [torch.from_numpy(b).to(device) for b in buckets]  # per bucket: uint8 [n, H, W, 3]
        self.ids = ids
        self.device = device
        self.patcher = PixelPatcher(device)
        self.with_mm_token_type_ids = with_mm_token_type_ids
        self.tokens = table.tokens.to(device)
        self.lengths = table.lengths.to(device)
        self.prompt_lengths = table.prompt_lengths.to(device)
        self.slot = table.slot.to(device)

    def by_bucket(self, index: torch.Tensor) -> list:
        """`index` split into its size buckets: [(bucket, indices)]."""
        buckets = self.table.bucket[index.cpu()]
        return [(int(b), index[buckets == b]) for b in torch.unique(buckets).tolist()]

    def __call__(self, index: torch.Tensor, with_labels: bool = True, prompt_only: bool = False) -> dict:
        buckets = torch.unique(self.table.bucket[index.cpu()])
        if buckets.numel() != 1:
            raise ValueError(f"a batch must hold pictures of one size, got buckets {buckets.tolist()}")
        bucket = int(buckets[0])
        height, width = self.table.sizes[bucket]
        index = index.to(self.device)
        lengths = self.prompt_lengths[index] if prompt_only else self.lengths[index]
        longest = int(lengths.max().item())
        tokens = self.tokens[index, :longest]
        positions = torch.arange(longest, device=self.device).unsqueeze(0)
        attention_mask = (positions < lengths.unsqueeze(1)).long()
        tokens = torch.where(attention_mask.bool(), tokens, torch.full_like(tokens, self.ids.endoftext))
        batch = {
            "input_ids": tokens,
            "attention_mask": attention_mask,
            "pixel_values": self.patcher(self.images[bucket][self.slot[index]]),
            "image_grid_thw": grid_thw(index.shape[0], height, width, self.device),
        }
        if self.with_mm_token_type_ids:
            batch["mm_token_type_ids"] = (tokens == self.ids.image_pad).int()
        if self.position_templates is not None:
            template = self.position_templates[bucket][:, :longest].to(self.device)
            batch["position_ids"] = template.unsqueeze(1).expand(3, index.shape[0], longest)
        if with_labels:
            answer_part = (positions >= self.prompt_lengths[index].unsqueeze(1)) & attention_mask.bool()
            batch["labels"] = torch.where(answer_part, tokens, torch.full_like(tokens, -100))
        return batch
