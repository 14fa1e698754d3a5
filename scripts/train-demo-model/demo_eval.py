"""Scoring the demo model on held-out pictures, and the greedy reference outputs for Iris's parity test."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict

import numpy as np
import torch

from demo_checkpoint import render_prompt, user_turn
from demo_data import QUESTION_KINDS, BatchMaker, ExampleTable
from demo_precision import autocast
from demo_tokenizer import SpecialIds


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@torch.no_grad()
def teacher_forced_accuracy(model, make_batch: BatchMaker, table: ExampleTable, per_kind: int, batch_size: int,
                            precision: str) -> dict:
    """Exact-match accuracy per question kind with the answer fed in: an example counts when the argmax at every
    answer position (and at the final <|im_end|>) is the expected token. Greedy decoding then produces exactly the
    expected answer, so this equals generation accuracy (ties aside) at the cost of one forward pass. `precision`:
    demo_precision.py's "fp32" or "bf16" (during training, the training's own)."""
    was_training = model.training
    model.eval()
    scores = {}
    for k, kind in enumerate(QUESTION_KINDS):
        index = torch.nonzero(table.kind == k).flatten()[:per_kind]
        if index.numel() == 0:
            continue
        batches = [of_size[start : start + batch_size] for _, of_size in make_batch.by_bucket(index)
                   for start in range(0, of_size.numel(), batch_size)]
        correct = 0
        for chunk in batches:
            batch = make_batch(chunk)
            labels = batch.pop("labels")
            with autocast(precision, model.device):
                logits = model(**batch, use_cache=False).logits
            predicted = logits[:, :-1].argmax(-1)
            target = labels[:, 1:]
            ok = (predicted == target) | (target == -100)
            correct += int(ok.all(dim=1).sum().item())
        scores[kind] = correct / index.numel()
    model.train(was_training)
    return scores


def _strip_at_eos(tokens: list, ids: SpecialIds) -> list:
    for i, t in enumerate(tokens):
        if t in (ids.im_end, ids.endoftext):
            return tokens[:i]
    return tokens


@torch.no_grad()
def generation_accuracy(model, make_batch: BatchMaker, table: ExampleTable, ids: SpecialIds, decode, batch_size: int,
                        max_new_tokens: dict, examples: list | None = None) -> tuple[dict, list]:
    """Exact-match accuracy per question kind through Hugging Face `generate` (greedy). Examples are grouped by
    question and picture size, so every batch holds prompts of one length and needs no padding. Returns scores and
    up to 10 misses of each kind. `examples`: the example indices to score (default: all)."""
    model.eval()
    by_question = defaultdict(list)
    buckets = table.bucket.tolist()
    for e in range(table.count) if examples is None else examples:
        by_question[(table.questions[e], buckets[e])].append(e)
    correct, total, misses = defaultdict(int), defaultdict(int), []
    for (question, _), examples in sorted(by_question.items()):
        kind = QUESTION_KINDS[int(table.kind[examples[0]])]
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = make_batch(torch.tensor(chunk), with_labels=False, prompt_only=True)
            if bool((batch["attention_mask"] == 0).any()):
                raise RuntimeError(f"prompts of {question!r} differ in length")
            prompt_len = batch["input_ids"].shape[1]
            out = model.generate(**batch, max_new_tokens=max_new_tokens[kind], do_sample=False,
                                 eos_token_id=[ids.im_end, ids.endoftext], pad_token_id=ids.endoftext)
            for row, e in enumerate(chunk):
                text = decode(_strip_at_eos(out[row, prompt_len:].tolist(), ids)).strip()
                total[kind] += 1
                if text == table.answers[e]:
                    correct[kind] += 1
                elif sum(m["kind"] == kind for m in misses) < 10:
                    misses.append({"kind": kind, "question": question, "expected": table.answers[e], "got": text})
    return {k: correct[k] / total[k] for k in QUESTION_KINDS if total[k]}, misses


@torch.no_grad()
def reference_outputs(model, processor, dataset, table: ExampleTable, ids: SpecialIds, per_kind: int,
                      max_new_tokens: int) -> list:
    """Greedy outputs of the saved checkpoint, through the processor loaded from its folder, for `per_kind` held-out
    (picture, question) pairs of each kind: what Iris must reproduce token for token. The processor gets each
    picture at its canvas size (generator 2: pictures whose canvases the data set kept), as a user's picture."""
    from PIL import Image

    def canvas_of(index: int) -> np.ndarray | None:
        if dataset.meta.get("generatorVersion") == 1:
            return dataset.picture(index)
        return dataset.canvases.get(index)

    with_canvas = torch.tensor([canvas_of(int(i)) is not None for i in table.image_index.tolist()])
    cases = []
    for k, kind in enumerate(QUESTION_KINDS):
        of_kind = torch.nonzero((table.kind == k) & with_canvas).flatten()
        step = max(1, of_kind.numel() // per_kind)
        # Spread over the pictures; the +i%2 alternates between neighbours (the yes and the no question of one
        # picture are adjacent), so both answers of "is there" questions are covered.
        picks = [min(i * step + i % 2, of_kind.numel() - 1) for i in range(min(per_kind, of_kind.numel()))]
        for e in of_kind[picks].tolist():
            image_index = int(table.image_index[e])
            sample = dataset.samples[image_index]
            picture = canvas_of(image_index)
            question = table.questions[e]
            prompt = render_prompt(processor, question)
            inputs = processor(text=[prompt], images=[Image.fromarray(picture)], return_tensors="pt",
                               return_mm_token_type_ids=True)
            inputs = {k2: v.to(model.device) for k2, v in inputs.items()}
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, output_logits=True,
                                 return_dict_in_generate=True, eos_token_id=[ids.im_end, ids.endoftext],
                                 pad_token_id=ids.endoftext)
            prompt_len = inputs["input_ids"].shape[1]
            tokens = out.sequences[0, prompt_len:].tolist()
            margins = []
            for step_logits in out.logits:
                top2 = torch.topk(step_logits[0].float(), 2).values
                margins.append(float(top2[0] - top2[1]))
            text = processor.tokenizer.decode(tokens, skip_special_tokens=True)
            cases.append({
                "seed": sample["seed"],
                "kind": kind,
                "question": question,
                "expected_answer": table.answers[e],
                "messages": user_turn(question),
                "prompt": prompt,
                "image_sha256": hashlib.sha256(np.ascontiguousarray(picture).tobytes()).hexdigest(),
                "image_size": [int(picture.shape[1]), int(picture.shape[0])],
                "input_ids": inputs["input_ids"][0].tolist(),
                "n_prompt_tokens": prompt_len,
                "image_grid_thw": inputs["image_grid_thw"].tolist(),
                "greedy_tokens": tokens,
                "greedy_text": text,
                "finished": bool(tokens) and tokens[-1] in (ids.im_end, ids.endoftext),
                "greedy_margins": margins,
                "min_margin": min(margins),
                "matches_expected": text.strip() == table.answers[e],
            })
    return cases
