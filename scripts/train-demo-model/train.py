#!/usr/bin/env python3
"""Trains Iris's bundled demo model: a tiny Qwen2.5-VL that looks at a picture of coloured shapes and answers
questions about it.

Input: two data sets written by `node dist/demo/shapes/write-dataset.js` (one of training seeds, one of held-out
seeds). Output: a Hugging Face checkpoint folder (bf16 safetensors, config, generation config, tokenizer,
preprocessor config, chat template), `reference.json` (greedy outputs for Iris's parity test) and
`training_summary.json`. See README.md beside this file.

Runs with PyTorch 2.11, transformers 5.17 and tokenizers, on one GPU (or, slowly, the CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time
import traceback

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from demo_checkpoint import (  # noqa: E402
    check_against_hf_processor,
    check_model_config,
    hf_tokenizer_matches,
    model_config,
    write_processor_files,
)
from demo_data import (  # noqa: E402
    PATCH_DIM,
    QUESTION_KINDS,
    BatchMaker,
    BucketSampler,
    Encoder,
    build_examples,
    chat_prompt,
    dataset_texts,
    image_tokens,
    load_dataset,
)
from demo_recipe import Schedule, answer_loss, kind_weights, optimizer_for  # noqa: E402
from demo_eval import generation_accuracy, log, reference_outputs, teacher_forced_accuracy  # noqa: E402
from demo_diagnose import describe_batch, diagnose  # noqa: E402
from demo_fast_paths import check_fast_paths, fast_vision_tower, position_templates  # noqa: E402
from demo_precision import PRECISIONS, allow_tf32, autocast  # noqa: E402
from demo_recovery import Recovery  # noqa: E402
from demo_tokenizer import SpecialIds, train_tokenizer, write_json  # noqa: E402

CALIBRATE_FROM, CALIBRATE_TO = 10, 60  # steps timed to fit the schedule into the time budget
# The schedule fitted again over steps CALIBRATE_TO .. RECALIBRATE_AT: the first steps run slower (kernels warming up
# for each picture size; 41 ms against 28 ms later in the 2026-12-03 float32 run, which left 98 s of its budget).
RECALIBRATE_AT = 500


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-data", required=True, help="data set of training seeds (write-dataset.js --out)")
    p.add_argument("--eval-data", required=True, help="data set of held-out seeds")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--steps", type=int, default=100_000, help="most optimizer steps (the time budget usually ends first)")
    p.add_argument("--time-budget-minutes", type=float, default=6.0,
                   help="wall time for the training loop; the cosine schedule is fitted to it after the first steps (0: off)")
    p.add_argument("--deadline", type=float, default=0,
                   help="unix time by which the whole run must end: the time budget shrinks to leave --reserve-seconds after training")
    p.add_argument("--reserve-seconds", type=float, default=70, help="time kept after the training loop (saving, scoring, reference: 37 s measured)")
    # 512 a batch: a step of this small model is bound by kernel launches, not arithmetic, so twice the pictures
    # cost far less than twice the time.
    p.add_argument("--batch-size", type=int, default=256)
    # Every generator-2 run began to read the picture only once its schedule had brought the rate under ~4-5e-4
    # (README, Runs): a lower peak from the start. 3e-4 is the fourth run's (2026-12-03), the installed checkpoint:
    # it read the picture from step ~2,500 and reached describe 0.95 held out (README, "Generator 2, fourth run").
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--min-lr-ratio", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp32 (TF32 matrix products; the default) or bf16 autocast, for training and its periodic scoring "
                        "(demo_precision.py); non-finite gradients in bf16 fall back to fp32 (demo_recovery.py)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=640, help="BPE vocabulary before the 14 special tokens (at most)")
    p.add_argument("--rope-theta", type=float, default=1_000_000.0)
    p.add_argument("--kind-weights", default="describe=0.35,count=0.05,leftmost=0.1,color=0.3,exists=0.2",
                   help="share of each question kind in the training batches")
    p.add_argument("--loss", choices=["example", "token"], default="example",
                   help="average the answer loss per example (default) or per token")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--eval-per-kind", type=int, default=512, help="held-out examples per kind in the periodic check")
    p.add_argument("--generate-eval-per-kind", type=int, default=400,
                   help="held-out questions per kind scored through generate at the end (on the most common picture sizes)")
    p.add_argument("--reference-per-kind", type=int, default=4)
    p.add_argument("--reference-max-new-tokens", type=int, default=16)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--no-speed-ups", action="store_true",
                   help="train through transformers' code alone (see demo_fast_paths.py; about 10x slower a step)")
    return p.parse_args()


def build_tokenizer(train_set, out_dir: str, vocab_size: int, probes: list):
    tokenizer = train_tokenizer(dataset_texts(train_set), vocab_size)
    log(f"tokenizer: {tokenizer.get_vocab_size(with_added_tokens=False)} BPE tokens + 14 special = "
        f"{tokenizer.get_vocab_size(with_added_tokens=True)}")
    # "Qwen2Tokenizer" is what real Qwen2.5-VL checkpoints name; fall back to the generic class of transformers 5
    # only if its Qwen2 class does not reproduce tokenizer.json exactly.
    for tokenizer_class in ("Qwen2Tokenizer", "TokenizersBackend"):
        write_processor_files(tokenizer, out_dir, tokenizer_class)
        problem = hf_tokenizer_matches(out_dir, tokenizer, probes)
        if problem is None:
            log(f"transformers' AutoTokenizer ({tokenizer_class}) matches the trained tokenizer")
            return tokenizer, tokenizer_class
        log(f"WARNING: with tokenizer_class {tokenizer_class}: {problem}")
    raise SystemExit("transformers does not load the trained tokenizer faithfully; see the warnings above")


def build_model(config, device):
    from transformers import Qwen2_5_VLForConditionalGeneration

    model = Qwen2_5_VLForConditionalGeneration(config).to(device)
    if model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        log("WARNING: lm_head was not tied to the embeddings; tying it")
        model.tie_weights()
    if model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        raise SystemExit("cannot tie lm_head to the token embeddings")
    return model


def parameter_counts(model) -> dict:
    unique = {p.data_ptr(): p for p in model.parameters()}.values()
    vision = sum(p.numel() for n, p in model.named_parameters() if ".visual." in f".{n}")
    total = sum(p.numel() for p in unique)
    return {"total": total, "vision": vision, "text": total - vision}


def check_first_batch(batch: dict, ids: SpecialIds, batch_size: int) -> None:
    _, grid_h, grid_w = batch["image_grid_thw"][0].tolist()
    if tuple(batch["pixel_values"].shape) != (batch_size * grid_h * grid_w, PATCH_DIM):
        raise RuntimeError(f"pixel_values shape {tuple(batch['pixel_values'].shape)}")
    if int((batch["input_ids"] == ids.image_pad).sum()) != batch_size * image_tokens(grid_h * 14, grid_w * 14):
        raise RuntimeError("image token count differs from the pictures' token count")
    if int((batch["labels"] != -100).sum(dim=1).min()) < 2:
        raise RuntimeError("an example has no answer tokens to learn")


def batch_loss(model, batch: dict, labels: torch.Tensor, precision: str, device, mode: str) -> torch.Tensor:
    """The training loss of one batch; also what the diagnosis re-runs (demo_diagnose.py)."""
    with autocast(precision, device):
        logits = model(**batch, use_cache=False).logits
    return answer_loss(logits, labels, mode)


def train(args, model, make_batch: BatchMaker, train_table, eval_make_batch, eval_table, ids, device) -> dict:
    sampler = BucketSampler(train_table, kind_weights(args.kind_weights), device)
    optimizer = optimizer_for(model, args.lr, args.weight_decay, device)
    schedule = Schedule(args.lr, args.warmup_steps, args.steps, args.min_lr_ratio)
    # The precision in force (bf16 may fall back to fp32) and the learning-rate scale live in `recovery`.
    recovery = Recovery(model, optimizer, args.precision)
    budget = args.time_budget_minutes * 60
    if args.deadline > 0:
        left = args.deadline - time.time() - args.reserve_seconds
        if left < budget:
            log(f"WARNING: {left:.0f} s left before the deadline: the time budget shrinks from {budget:.0f} s to {max(60.0, left):.0f} s")
            budget = max(60.0, left)
    model.train()
    history, recent, started, calibrate_start, calibrate_step, eval_seconds = [], [], time.time(), None, 0, 0.0
    step, skipped, diagnosis, stopped = 0, [], None, None
    try:
        while step < schedule.total:
            lr = schedule(step) * recovery.lr_scale
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = sampler(args.batch_size)
            batch = make_batch(index)
            if step == 0:
                check_first_batch(batch, ids, args.batch_size)
            labels = batch.pop("labels")
            precision = recovery.precision
            loss = batch_loss(model, batch, labels, precision, device, args.loss)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            # A non-finite gradient would turn every weight to NaN through the clipping's scale: the batch is
            # skipped, the first one is diagnosed, and repeated ones restore the last snapshot (demo_recovery.py).
            if torch.isfinite(grad_norm):
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                recent.append(loss.detach())
                recovery.good_step(step)
            else:
                skipped.append(step)
                log(f"WARNING: non-finite gradient at step {step} (loss {loss.item():.4f}, {precision}); batch skipped ({len(skipped)} so far)")
                if diagnosis is None:
                    diagnosis = diagnose(
                        model, lambda: batch_loss(model, batch, labels, precision, device, args.loss),
                        describe_batch(batch, labels), loss.item(), grad_norm.item(), step)
                optimizer.zero_grad(set_to_none=True)
                if not recovery.bad_step(step):
                    stopped = f"non-finite gradients at step {step} with no rung left on the recovery ladder"
            step += 1
            if stopped:
                break

            elapsed = time.time() - started - eval_seconds
            if step == CALIBRATE_FROM:
                calibrate_start, calibrate_step = (time.time(), eval_seconds), step
            if step in (CALIBRATE_TO, RECALIBRATE_AT) and budget > 0 and step < schedule.total:
                per_step = (time.time() - calibrate_start[0] - (eval_seconds - calibrate_start[1])) / (step - calibrate_step)
                fitted = min(args.steps, max(step + 1, int(step + (budget - elapsed) / per_step)))
                schedule.refit(fitted)
                log(f"{per_step * 1000:.0f} ms per step (steps {calibrate_step}-{step}): {fitted} steps fit in {budget / 60:.2f} minutes")
                calibrate_start, calibrate_step = (time.time(), eval_seconds), step
            if (step % 50 == 0 or step == schedule.total) and recent:
                mean_loss = torch.stack(recent).mean().item()
                recent.clear()
                if not math.isfinite(mean_loss):  # weights gone bad despite the skipping: back to the snapshot
                    if not recovery.step_down(step, f"mean loss {mean_loss} over the last steps"):
                        stopped = f"non-finite loss near step {step} with no rung left on the recovery ladder"
                        break
                else:
                    history.append({"step": step, "loss": mean_loss, "lr": lr, "precision": recovery.precision,
                                    "seconds": round(elapsed, 1)})
                    log(f"step {step}/{schedule.total} loss {mean_loss:.4f} lr {lr:.2e} {elapsed:.0f}s"
                        + (f" ({recovery.precision}, lr scale {recovery.lr_scale:g})" if recovery.restores else ""))
            if step % args.eval_every == 0 or step == schedule.total:
                t0 = time.time()
                scores = teacher_forced_accuracy(model, eval_make_batch, eval_table, args.eval_per_kind, 512, recovery.precision)
                eval_seconds += time.time() - t0
                if history:
                    history[-1]["held_out_exact_match"] = scores
                log("held-out exact match (teacher forced): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
            if budget > 0 and elapsed > budget * 1.15:
                log(f"WARNING: over the time budget at step {step}; stopping early")
                break
    except (Exception, SystemExit):
        # Past the first steps, an error costs the rest of the training, not the run: what was trained is saved
        # and scored (from the last snapshot if the weights are no longer finite). Early, it is a bug: raise it.
        if step < CALIBRATE_TO:
            raise
        stopped = f"error at step {step}: {traceback.format_exc()}"
        log(f"ERROR: training stopped at step {step}; saving what was trained:\n{traceback.format_exc()}")
        optimizer.zero_grad(set_to_none=True)
        if not recovery.weights_finite():
            recovery.restore()
            log(f"the weights were not finite: restored those of step {recovery.snapshot_step}")
    if stopped:
        log(f"WARNING: training ended early: {stopped.splitlines()[0]}")
    return {"steps": step, "skipped_batches": len(skipped), "skipped_steps": skipped, "stopped": stopped,
            "precision": args.precision, **recovery.summary(), "diagnosis": diagnosis,
            "train_seconds": round(time.time() - started, 1), "history": history}


def save_checkpoint(model, out_dir: str, ids: SpecialIds) -> None:
    from transformers import GenerationConfig

    model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(
        bos_token_id=ids.endoftext, eos_token_id=[ids.im_end, ids.endoftext], pad_token_id=ids.endoftext, do_sample=False
    )
    model.save_pretrained(out_dir)
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        if not os.path.exists(os.path.join(out_dir, name)):
            raise SystemExit(f"save_pretrained wrote no {name}")


def reload_float32(out_dir: str, trained, device):
    from transformers import Qwen2_5_VLForConditionalGeneration

    loaded = Qwen2_5_VLForConditionalGeneration.from_pretrained(out_dir, dtype=torch.float32).to(device)
    saved = dict(trained.named_parameters())
    for name, p in loaded.named_parameters():
        if name not in saved or not torch.equal(p.detach(), saved[name].detach().float().to(device)):
            raise SystemExit(f"reloaded weight {name} differs from the trained bf16 weight")
    if loaded.lm_head.weight.data_ptr() != loaded.get_input_embeddings().weight.data_ptr():
        raise SystemExit("the reloaded model's lm_head is not tied to its embeddings")
    return loaded


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    import transformers

    environment = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
    }
    log(f"environment: {environment}")
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)

    train_set, eval_set = load_dataset(args.train_data), load_dataset(args.eval_data)
    if train_set.meta["split"] != "training" or eval_set.meta["split"] != "held-out":
        raise SystemExit("--train-data must hold training seeds and --eval-data held-out seeds")
    log(f"data: {train_set.count} training pictures, {eval_set.count} held-out pictures")

    probes = sorted({qa["question"] for s in eval_set.samples[:200] for qa in s["questions"]}
                    | {qa["answer"] for s in eval_set.samples[:200] for qa in s["questions"]})
    probes += [chat_prompt(q, n) for q, n in zip(probes[:5], (16, 12, 9, 10, 15))] + ["What is this? A café, naïve 12 ✓"]
    tokenizer, tokenizer_class = build_tokenizer(train_set, args.out, args.vocab_size, probes)
    ids = SpecialIds(tokenizer)
    encoder = Encoder(tokenizer)
    train_table, eval_table = build_examples(train_set, encoder), build_examples(eval_set, encoder)
    log(f"examples: {train_table.count} training, {eval_table.count} held-out; longest {train_table.tokens.shape[1]} tokens")
    log("picture sizes (height x width: training pictures): " + ", ".join(
        f"{h}x{w}: {int((train_set.picture_bucket == b).sum())}" for b, (h, w) in enumerate(train_set.sizes)))
    if set(eval_set.sizes) - set(train_set.sizes):
        log(f"WARNING: held-out picture sizes {sorted(set(eval_set.sizes) - set(train_set.sizes))} never occur in training")

    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    config = model_config(ids, vocab_size, args.rope_theta)
    check_model_config(config, ids, vocab_size)
    model = build_model(config, device)
    params = parameter_counts(model)
    log(f"model: {params['total']:,} parameters ({params['vision']:,} vision, {params['text']:,} text); "
        f"attention {model.config._attn_implementation}")
    # The processor check on a held-out picture that the processor resizes (not square if there is one).
    probe_picture = next((i for i in sorted(eval_set.canvases) if eval_set.canvases[i].shape[0] != eval_set.canvases[i].shape[1]),
                         next(iter(eval_set.canvases), 0))
    probe_canvas = eval_set.canvases.get(probe_picture, eval_set.picture(probe_picture))
    processor_check = check_against_hf_processor(args.out, tokenizer, ids, eval_set.samples[probe_picture]["questions"][0]["question"],
                                                 probe_canvas, eval_set.picture(probe_picture), model)
    log(f"the processor loaded from {args.out} agrees with the training inputs: {processor_check}")
    if processor_check["pixel_values_max_diff"] > 1e-4:
        log(f"WARNING: transformers' resize differs from Iris's on {processor_check['pixel_values_differing']} values; "
            "training goes on (Iris resizes as training does), the reference outputs may differ where margins are small")

    make_batch = BatchMaker(train_table, train_set.buckets, ids, device, with_mm_token_type_ids=True)
    eval_make_batch = BatchMaker(eval_table, eval_set.buckets, ids, device, with_mm_token_type_ids=True)
    speed_ups = False
    if not args.no_speed_ups:
        train_templates = position_templates(train_table, ids.image_pad)
        # The fast paths checked on the two most common sizes.
        common = torch.bincount(train_table.bucket).argsort(descending=True)[:2].tolist()
        speed_ups = True
        for bucket in common:
            rows = torch.nonzero(train_table.bucket == bucket).flatten()
            probe = make_batch(rows[torch.linspace(0, rows.numel() - 1, 32).long()], with_labels=False)
            speed_ups = speed_ups and check_fast_paths(model, probe, train_templates[bucket])
    if speed_ups:
        make_batch.position_templates = {b: t.to(device) for b, t in train_templates.items()}
        eval_make_batch.position_templates = {b: t.to(device) for b, t in position_templates(eval_table, ids.image_pad).items()}
    # TF32 for training only: the fast paths were checked above, and the final scoring runs below, in plain float32.
    allow_tf32(device.type == "cuda")
    with fast_vision_tower() if speed_ups else contextlib.nullcontext():
        training = train(args, model, make_batch, train_table, eval_make_batch, eval_table, ids, device)
    allow_tf32(False)
    training["speed_ups"] = speed_ups
    eval_make_batch.position_templates = None
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise SystemExit("the trained weights are not finite: nothing to save")

    # training_summary.json is written as soon as the checkpoint is saved and again after each later stage, so that
    # run-on-device.sh packs the checkpoint even if scoring or the reference outputs fail.
    summary = {
        "args": vars(args),
        "environment": environment,
        "parameters": params,
        "tokenizer": {"bpe": tokenizer.get_vocab_size(with_added_tokens=False), "total": vocab_size,
                      "tokenizer_class": tokenizer_class},
        "data": {"generator_version": train_set.meta["generatorVersion"],
                 "train_pictures": train_set.count, "train_examples": train_table.count,
                 "held_out_pictures": eval_set.count, "held_out_examples": eval_table.count,
                 "picture_sizes": {f"{h}x{w}": int((train_set.picture_bucket == b).sum())
                                   for b, (h, w) in enumerate(train_set.sizes)}},
        "training": training,
    }
    errors = []

    def write_summary(stage: str) -> None:
        summary.update(stage=stage, errors=errors, total_seconds=round(time.time() - t_start, 1))
        write_json(os.path.join(args.out, "training_summary.json"), summary)

    save_checkpoint(model, args.out, ids)
    log(f"saved the bf16 checkpoint to {args.out}")
    write_summary("saved; scoring next")
    loaded = reload_float32(args.out, model, device)
    del model
    try:
        score(args, loaded, tokenizer, encoder, eval_make_batch, eval_table, ids, summary)
    except Exception:
        errors.append(f"scoring: {traceback.format_exc()}")
        log(f"ERROR: scoring failed (the reference outputs come next):\n{errors[-1]}")
    write_summary("scored; reference outputs next")
    try:
        write_reference(args, loaded, eval_set, eval_table, ids, environment)
    except Exception:
        errors.append(f"reference.json: {traceback.format_exc()}")
        log(f"ERROR: the reference outputs failed:\n{errors[-1]}")
    write_summary("done")
    if errors:
        raise SystemExit(f"{len(errors)} stage(s) after training failed (see above); the checkpoint is saved")
    log(f"done in {time.time() - t_start:.0f} s; files: {sorted(os.listdir(args.out))}")


def score(args, loaded, tokenizer, encoder, eval_make_batch, eval_table, ids, summary: dict) -> None:
    """Held-out exact match of the saved checkpoint in float32: every question teacher-forced, some through generate."""
    forced = teacher_forced_accuracy(loaded, eval_make_batch, eval_table, 10**9, 512, "fp32")
    longest = {k: 0 for k in QUESTION_KINDS}
    for k, answer in zip(eval_table.kind.tolist(), eval_table.answers):
        longest[QUESTION_KINDS[k]] = max(longest[QUESTION_KINDS[k]], len(encoder.answer(answer)))
    # Through generate, batches hold one question on one picture size: on the six most common sizes only, so the
    # number of generate calls stays small (the teacher-forced score above covers every held-out question).
    common = set(torch.bincount(eval_table.bucket).argsort(descending=True)[:6].tolist())
    in_common = torch.tensor([b in common for b in eval_table.bucket.tolist()])
    subset = torch.cat([torch.nonzero((eval_table.kind == k) & in_common).flatten()[: args.generate_eval_per_kind]
                        for k in range(len(QUESTION_KINDS))])
    generated, misses = generation_accuracy(
        loaded, eval_make_batch, eval_table, ids, lambda t: tokenizer.decode(t, skip_special_tokens=True), 512,
        {k: v + 2 for k, v in longest.items()}, subset.tolist(),
    )
    log("held-out exact match of the saved checkpoint (float32, HF generate, greedy):")
    for kind in QUESTION_KINDS:
        n = int((eval_table.kind == QUESTION_KINDS.index(kind)).sum())
        log(f"  {kind:9s} {generated.get(kind, float('nan')):.4f}  (teacher forced {forced.get(kind, float('nan')):.4f} on all {n} questions)")
    for miss in misses[::5]:
        log(f"  miss: {miss}")
    summary["held_out_exact_match"] = {"generate": generated, "teacher_forced": forced}
    summary["misses"] = misses


def write_reference(args, loaded, eval_set, eval_table, ids, environment: dict) -> None:
    from transformers import AutoProcessor

    loaded = loaded.to("cpu")
    processor = AutoProcessor.from_pretrained(args.out)
    cases = reference_outputs(loaded, processor, eval_set, eval_table, ids, args.reference_per_kind,
                              args.reference_max_new_tokens)
    write_json(os.path.join(args.out, "reference.json"), {
        "about": "Greedy outputs of this checkpoint through Hugging Face transformers: the saved bf16 weights loaded "
                 "in float32 on the CPU, inputs from the processor loaded from this folder. Pictures: "
                 "generateScene(seed) + renderScene in Iris's src/demo/shapes (image_sha256 checks the bytes).",
        "environment": environment,
        "max_new_tokens": args.reference_max_new_tokens,
        "generator_version": eval_set.meta["generatorVersion"],
        "cases": cases,
    })
    log(f"reference.json: {len(cases)} cases, {sum(c['matches_expected'] for c in cases)} answered as expected")


if __name__ == "__main__":
    main()
