#!/usr/bin/env bash
# One call on the GPU machine: build the cuda addon, run npm run test:cuda and the kernel microbenchmark, keep the
# logs under $OUT and print a short summary last. Run from the repository root after `source .device/setup.sh`.
# --hf also runs the Hugging Face twin of the latency benchmark (bench/reference/latency_hf.py) on the model and
# photograph that .device-bench/ carries (qwen2_5-vl-3b-shape/, photo-512.png).
# --latency runs Iris's side of it (bench/latency.ts, the engine on cuda) on the same model and photograph.
# --throughput runs issue 10's benchmarks on that model (bench/vlm-offline.ts, vlm-shared-picture.ts, vlm-formats.ts);
# --throughput-hf their Hugging Face twins (bench/reference/vlm_*_hf.py); both end with bench/vlm-table.ts's table.
# THROUGHPUT_REQUESTS (default 512) shrinks the request count for a quick check; --no-test skips npm run test:cuda.
#   bash scripts/device/cuda-run.sh [--no-bench] [--no-test] [--quick] [--hf] [--latency] [--throughput] [--throughput-hf]
set -uo pipefail
out=${OUT:-/tmp/iris-out}
mkdir -p "$out"
bench=1
quick=""
hf=0
latency=0
throughput=0
throughput_hf=0
run_tests=1
for arg in "$@"; do
  case "$arg" in
    --no-bench) bench=0 ;;
    --quick) quick="--quick" ;;
    --hf) hf=1 ;;
    --latency) latency=1 ;;
    --throughput) throughput=1 ;;
    --throughput-hf) throughput_hf=1 ;;
    --no-test) run_tests=0 ;;
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
  if [[ $run_tests == 1 ]]; then
    npm run test:cuda > "$out/test-cuda.log" 2>&1
    test_rc=$?
  fi
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
model=.device-bench/qwen2_5-vl-3b-shape
requests=${THROUGHPUT_REQUESTS:-512}
if [[ $throughput == 1 && $build_rc == 0 ]]; then
  # KV for 512 x ~484 tokens (the cache size is counted at 4 bytes a value); one batch of all the requests.
  engine_flags=(--model $model --device cuda --context-length 1024 --kv-cache-mb 24576 --max-running-requests 512 --preprocess-workers 12)
  timeout 300 node --import tsx bench/vlm-offline.ts "${engine_flags[@]}" --requests "$requests" \
    > "$out/vlm-offline-iris.json" 2> "$out/vlm-offline-iris.err"
  echo "iris offline rc=$?"
  timeout 240 node --import tsx bench/vlm-shared-picture.ts "${engine_flags[@]}" --requests "$requests" \
    > "$out/vlm-shared-picture-iris.json" 2> "$out/vlm-shared-picture-iris.err"
  echo "iris shared picture rc=$?"
  timeout 120 node --import tsx bench/vlm-formats.ts "${engine_flags[@]}" > "$out/vlm-formats-iris.json" 2> "$out/vlm-formats-iris.err"
  echo "iris formats rc=$?"
fi
if [[ $throughput_hf == 1 ]]; then
  for twin in "offline vlm_offline_hf.py" "shared-picture vlm_offline_hf.py --shared-picture" "formats vlm_formats_hf.py"; do
    read -r name script flags <<< "$twin"
    extra=(); [[ $name != formats ]] && extra=(--requests "$requests")
    PYTHONUNBUFFERED=1 timeout 300 python3 "bench/reference/$script" $flags --model $model "${extra[@]}" \
      > "$out/vlm-$name-hf.json" 2> "$out/vlm-$name-hf.err"
    echo "hf $name rc=$?"
  done
fi
if [[ $hf == 1 ]]; then
  PYTHONUNBUFFERED=1 python3 bench/reference/latency_hf.py --model .device-bench/qwen2_5-vl-3b-shape \
    --image .device-bench/photo-512.png > "$out/latency-hf.json" 2> "$out/latency-hf.err"
  echo "hf twin rc=$?"
fi
echo "==== failures ===="
grep -A30 "✖" "$out/test-cuda.log" 2>/dev/null | grep -v "^\s*at " | head -150
echo "==== test:cuda summary (rc=$test_rc) ===="
grep -E "^(#|ℹ) (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)" "$out/test-cuda.log" 2>/dev/null
echo "==== kernels ===="
cat "$out/kernels-cuda.txt" 2>/dev/null
if [[ $latency == 1 ]]; then echo "==== iris latency ===="; cat "$out/latency-iris.json"; tail -15 "$out/latency-iris.err"; fi
if [[ $throughput == 1 || $throughput_hf == 1 ]]; then
  echo "==== throughput (issue 10) ===="
  for f in "$out"/vlm-*.err; do [[ -s $f ]] && { echo "-- $(basename "$f")"; tail -5 "$f"; }; done
  node --import tsx bench/vlm-table.ts "$out"
fi
if [[ $hf == 1 ]]; then echo "==== hugging face twin ===="; cat "$out/latency-hf.json"; tail -5 "$out/latency-hf.err"; fi
[[ $build_rc == 0 && ( $test_rc == 0 || $run_tests == 0 ) ]]
