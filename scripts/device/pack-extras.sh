#!/usr/bin/env bash
# Packs what the GPU calls need beside .device (the runtime) and .device-fixtures (the tiny fixtures), small enough
# to ride along in the fixture call, into .device-scout/ (git-excluded):
#   llama4-scout-shape.tar.xz  ../shared/fixtures/models/llama4-scout-shape (config and tokenizer, 1.7 MB)
#   bench.tar.xz               .device-bench/: the 3B shape's config and tokenizer and photo-512.png (2 MB)
# A call carries at most 64 MiB: .device (42) with the repository (11) leaves no room for the fixtures (44), so the
# fixture call unpacks everything and the main call carries .device alone (unpacked paths stay while the machine is
# warm, 30 s between calls):
#   fixture call (carry .device-fixtures and .device-scout):
#     bash .device-fixtures/unpack.sh && mkdir -p /tmp/scout && tar -xJf .device-scout/llama4-scout-shape.tar.xz -C /tmp/scout \
#       && tar -xJf .device-scout/bench.tar.xz
#   main call (carry .device): source .device/setup.sh, then scripts/device/cuda-run.sh ...
# .device-bench/photo-512.png is any 512x512 photograph (the benchmarks' picture; a photo, not a drawing, so the
# resize and the vision tower see natural detail); the script stops if it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=../shared/fixtures/models
mkdir -p .device-scout .device-bench
tar -cJf .device-scout/llama4-scout-shape.tar.xz -C "$models" llama4-scout-shape
[ -d .device-bench/qwen2_5-vl-3b-shape ] || cp -r "$models/qwen2_5-vl-3b-shape" .device-bench/
[ -f .device-bench/photo-512.png ] || { echo "put a 512x512 photograph at .device-bench/photo-512.png" >&2; exit 1; }
tar -cJf .device-scout/bench.tar.xz .device-bench/qwen2_5-vl-3b-shape .device-bench/photo-512.png
ls -la .device-scout
