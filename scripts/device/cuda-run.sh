#!/usr/bin/env bash
# One call on the GPU machine: build the cuda addon, run npm run test:cuda and the kernel microbenchmark, keep the
# logs under $OUT and print a short summary last. Run from the repository root after `source .device/setup.sh`.
# --hf also runs the Hugging Face twin of the latency benchmark (bench/reference/latency_hf.py) on the model and
# photograph that .device-bench/ carries (qwen2_5-vl-3b-shape/, photo-512.png).
# --latency runs Iris's side of it (bench/latency.ts, the engine on cuda) on the same model and photograph.
#   bash scripts/device/cuda-run.sh [--no-bench] [--quick] [--hf] [--latency]
set -uo pipefail
out=${OUT:-/tmp/iris-out}
mkdir -p "$out"
bench=1
quick=""
hf=0
latency=0
for arg in "$@"; do
  case "$arg" in
    --no-bench) bench=0 ;;
    --quick) quick="--quick" ;;
    --hf) hf=1 ;;
    --latency) latency=1 ;;
  esac
done
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
start=$(date +%s)
node scripts/build-native.mjs > "$out/build-cpu.log" 2>&1 &  # the cpu reference's matrix product, beside
node scripts/build-cuda.mjs --strict 2>&1 | tee "$out/build.log"
build_rc=${PIPESTATUS[0]}
wait
echo "build: rc=$build_rc in $(( $(date +%s) - start )) s"
test_rc=skipped
if [[ $build_rc == 0 ]]; then
  npm run test:cuda > "$out/test-cuda.log" 2>&1
  test_rc=$?
  if [[ $bench == 1 ]]; then
    node --import tsx bench/kernels-cuda.ts $quick > "$out/kernels-cuda.json" 2> "$out/kernels-cuda.txt"
    echo "bench rc=$?"
  fi
fi
if [[ $latency == 1 && $build_rc == 0 ]]; then
  timeout 300 node --import tsx bench/latency.ts --model .device-bench/qwen2_5-vl-3b-shape --image .device-bench/photo-512.png \
    > "$out/latency-iris.json" 2> "$out/latency-iris.err"
  echo "iris latency rc=$?"
fi
if [[ $hf == 1 ]]; then
  PYTHONUNBUFFERED=1 python3 bench/reference/latency_hf.py --model .device-bench/qwen2_5-vl-3b-shape \
    --image .device-bench/photo-512.png > "$out/latency-hf.json" 2> "$out/latency-hf.err"
  echo "hf twin rc=$?"
fi
echo "==== failures ===="
grep -A30 "✖" "$out/test-cuda.log" | grep -v "^\s*at " | head -150
echo "==== test:cuda summary (rc=$test_rc) ===="
grep -E "^(#|ℹ) (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)" "$out/test-cuda.log"
echo "==== kernels ===="
cat "$out/kernels-cuda.txt" 2>/dev/null
if [[ $latency == 1 ]]; then echo "==== iris latency ===="; cat "$out/latency-iris.json"; tail -15 "$out/latency-iris.err"; fi
if [[ $hf == 1 ]]; then echo "==== hugging face twin ===="; cat "$out/latency-hf.json"; tail -5 "$out/latency-hf.err"; fi
[[ $test_rc == 0 ]]
