#!/usr/bin/env bash
# Trains the demo model on a GPU machine, from the repository root, once Iris is built (dist/ exists) and
# .device/setup.sh has been sourced (node 20, python3 with torch, transformers and tokenizers on the PATH):
#
#   OUT=/path/for/results scripts/train-demo-model/run-on-device.sh [extra train.py arguments]
#
# Writes the data sets with Iris's own generator, trains, and leaves in $OUT:
#   iris-demo-shapes.tar.gz   the checkpoint folder (weights, configs, tokenizer, reference.json, training_summary.json)
#   train.log                 the whole run's output
#   training_summary.json     also outside the archive, to read at a glance
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${OUT:?set OUT to the folder that receives the results}"
WORK=${WORK:-/tmp/iris-demo-train}
TRAIN_COUNT=${TRAIN_COUNT:-100000}   # training pictures: seeds 0 .. TRAIN_COUNT-1
EVAL_COUNT=${EVAL_COUNT:-1000}       # held-out pictures: seeds 2^31 .. 2^31+EVAL_COUNT-1
HELD_OUT_SEED_START=2147483648       # src/demo/shapes/seeds.ts HELD_OUT_SEED_START
NAME=iris-demo-shapes

if [ ! -f dist/demo/shapes/write-dataset.js ]; then
  echo "dist/demo/shapes/write-dataset.js is missing: build Iris first (npm run build)" >&2
  exit 1
fi
echo "node $(node --version)"
python3 -c 'import sys, torch, transformers, tokenizers; print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "cuda", torch.cuda.is_available())'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

mkdir -p "$WORK" "$OUT"
rm -rf "$WORK/data" "$WORK/$NAME"
start=$(date +%s)
node dist/demo/shapes/write-dataset.js --count "$TRAIN_COUNT" --seed-start 0 --out "$WORK/data/train"
node dist/demo/shapes/write-dataset.js --count "$EVAL_COUNT" --seed-start "$HELD_OUT_SEED_START" --out "$WORK/data/held-out"
echo "data sets written in $(( $(date +%s) - start )) s"

PYTHONUNBUFFERED=1 python3 scripts/train-demo-model/train.py \
  --train-data "$WORK/data/train" --eval-data "$WORK/data/held-out" --out "$WORK/$NAME" "$@" 2>&1 | tee "$WORK/train.log"

tar -czf "$OUT/$NAME.tar.gz" -C "$WORK" "$NAME"
cp "$WORK/train.log" "$WORK/$NAME/training_summary.json" "$OUT/"
echo "results in $OUT ($(( $(date +%s) - start )) s in all)"
