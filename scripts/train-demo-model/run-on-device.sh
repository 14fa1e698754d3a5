#!/usr/bin/env bash
# Trains the demo model on a GPU machine in one call, from the repository root, once .device/setup.sh has been
# sourced (node and node_modules from ../shared/tools/device-prep.sh; python3 with torch, transformers, tokenizers
# and pillow are the machine's own):
#
#   source .device/setup.sh && OUT=$OUT bash scripts/train-demo-model/run-on-device.sh [extra train.py arguments]
#
# Writes the data sets with Iris's own generator 2 (src/demo/shapes/drawing-*.ts, run from source with tsx: no
# build needed; sharp renders the SVG pictures), trains, scores, and leaves in $OUT:
#   iris-demo-shapes.tar.gz   the checkpoint folder (weights, configs, tokenizer, reference.json, training_summary.json)
#   train.log                 the whole run's output, written there as it goes (kept even if the call is killed)
#   training_summary.json     also outside the archive, to read at a glance
# The whole run ends within RUN_SECONDS (default 570): train.py shrinks its time budget to fit.
# Then, on the development machine: scripts/train-demo-model/install-checkpoint.sh <folder with the tar.gz>.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

: "${OUT:?set OUT to the folder that receives the results}"
WORK=${WORK:-/tmp/iris-demo-train}
TRAIN_COUNT=${TRAIN_COUNT:-150000}   # training pictures: seeds 0 .. TRAIN_COUNT-1
EVAL_COUNT=${EVAL_COUNT:-1500}       # held-out pictures: seeds 2^31 .. 2^31+EVAL_COUNT-1
CANVASES=${CANVASES:-200}            # held-out canvases kept for the reference outputs
RUN_SECONDS=${RUN_SECONDS:-570}
HELD_OUT_SEED_START=2147483648       # src/demo/shapes/seeds.ts HELD_OUT_SEED_START
NAME=iris-demo-shapes

mkdir -p "$WORK" "$OUT"
rm -rf "$WORK/data" "$WORK/$NAME"
# Straight into $OUT: a call killed at its time limit skips the trap below, and the log is what tells why.
exec > >(tee "$OUT/train.log") 2>&1
echo "node $(node --version); $(nproc) cores"
python3 -c 'import sys, torch, transformers, tokenizers, PIL; print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "pillow", PIL.__version__, "cuda", torch.cuda.is_available())'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

# Packs the checkpoint into $OUT whatever happens next: train.py writes training_summary.json as soon as the
# weights are saved (and again after scoring and reference.json), so a run that fails after saving still delivers.
finish() {
  if [ -f "$WORK/$NAME/training_summary.json" ]; then
    cp "$WORK/$NAME/training_summary.json" "$OUT/"
    tar -czf "$OUT/$NAME.tar.gz" -C "$WORK" "$NAME"
  fi
}
trap finish EXIT

write() { node --import tsx src/demo/shapes/write-dataset.ts --generator 2 "$@"; }
write --count "$TRAIN_COUNT" --seed-start 0 --out "$WORK/data/train"
write --count "$EVAL_COUNT" --seed-start "$HELD_OUT_SEED_START" --canvases "$CANVASES" --out "$WORK/data/held-out"
echo "data sets written in $(( $(date +%s) - start )) s ($(du -sh "$WORK/data" | cut -f1))"
# A few seconds: the data path, and the recovery and diagnosis code on a tiny model with this machine's torch. A
# failure is reported, not fatal: the diagnosis catches its own errors, and train.py saves what it trained when an
# error stops the loop past its first 60 steps.
python3 scripts/train-demo-model/smoke_test.py "$WORK/data/held-out" || echo "WARNING: smoke_test.py failed; training goes on"

PYTHONUNBUFFERED=1 python3 scripts/train-demo-model/train.py \
  --train-data "$WORK/data/train" --eval-data "$WORK/data/held-out" --out "$WORK/$NAME" \
  --deadline $(( start + RUN_SECONDS )) "$@"
echo "results in $OUT ($(( $(date +%s) - start )) s in all)"
