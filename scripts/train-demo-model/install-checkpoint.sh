#!/usr/bin/env bash
# Installs a checkpoint that run-on-device.sh trained into models/shapes-vlm, then checks it the way the tests do:
#
#   scripts/train-demo-model/install-checkpoint.sh <folder holding iris-demo-shapes.tar.gz (and train.log)>
#
# Steps: unpack, check the files and the size limit (10 MB for the weights), replace models/shapes-vlm, build,
# pick the demo's default picture if the bundled one is not answered right, then run the demo tests and print
# `iris demo --eval 200` on both held-out sets. Nothing is committed: read the output, then commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:?usage: install-checkpoint.sh <folder with iris-demo-shapes.tar.gz>}
archive="$src/iris-demo-shapes.tar.gz"
[ -f "$archive" ] || { echo "no $archive" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$archive" -C "$tmp"
dir="$tmp/iris-demo-shapes"
files=(chat_template.json config.json generation_config.json model.safetensors preprocessor_config.json reference.json
  tokenizer.json tokenizer_config.json training_summary.json)
for f in "${files[@]}"; do [ -f "$dir/$f" ] || { echo "the archive lacks $f" >&2; exit 1; }; done
bytes=$(stat -c %s "$dir/model.safetensors")
[ "$bytes" -lt 10000000 ] || { echo "model.safetensors is $bytes bytes, over the 10 MB limit" >&2; exit 1; }
grep -q '"generator_version": 2' "$dir/reference.json" || { echo "reference.json is not of generator 2" >&2; exit 1; }

rm -rf models/shapes-vlm
mkdir -p models/shapes-vlm
for f in "${files[@]}"; do cp "$dir/$f" models/shapes-vlm/; done
echo "installed: $(du -sh models/shapes-vlm | cut -f1) in models/shapes-vlm ($bytes bytes of weights)"

node --import tsx scripts/train-demo-model/pick-demo-seed.ts
# The CLI tests run the built command: build after the seed is settled.
npm run build >/dev/null
node scripts/run-tests.mjs tests/e2e/demo-model.test.ts tests/e2e/demo-cli.test.ts tests/unit/demo
node bin/iris.js demo --eval 200 --set both
