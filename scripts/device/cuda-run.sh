#!/usr/bin/env bash
# One call on the GPU machine: build the cuda addon, run npm run test:cuda and the kernel microbenchmark, keep the
# logs under $OUT and print a short summary last. Run from the repository root after `source .device/setup.sh`.
# --hf also runs the Hugging Face twin of the latency benchmark (bench/reference/latency_hf.py) on the model and
# photograph that .device-bench/ carries (qwen2_5-vl-3b-shape/, photo-512.png).
# --latency runs Iris's side of it (bench/latency.ts, the engine on cuda) on the same model and photograph;
# --latency-scout the same on ${SCOUT_MODEL:-/tmp/scout/llama4-scout-shape} in FP8 (issue 11: TTFT, batch-1 decode).
# --throughput runs issue 10's benchmarks on that model (bench/vlm-offline.ts, vlm-shared-picture.ts, vlm-formats.ts);
# --throughput-hf their Hugging Face twins (bench/reference/vlm_*_hf.py); both end with bench/vlm-table.ts's table.
# --throughput-scout runs bench/vlm-offline.ts's main run on ${SCOUT_MODEL} in FP8 (issue 11; SCOUT_REQUESTS, default 512).
# --decode runs bench/decode-step.ts (decode alone at batch 1 and 64; DECODE_EAGER=1 adds batch 1 without graphs) and
# bench/decode-layers-cuda.ts (the decoder's kernels one by one in graphs, at batch 1 and 64; DECODE_LAYERS_ONLY=1:
# the layers at batch 1 alone);
# --ncu-decode profiles a few eager decode steps' kernels with Nsight Compute (where the machine allows it);
# NCU_GRAPH=1 profiles the replayed graphs' kernels instead. --ncu-detail writes Nsight Compute's full sections for a
# few launches of batch-1 decode attention and gemv and of the FP8 products at Scout's shapes, on the CUDA cores and
# on the tensor cores (ncu-detail-*.txt).
# THROUGHPUT_REQUESTS (default 512) shrinks the request count for a quick check; --no-test skips npm run test:cuda;
# TEST_PATHS="tests/cuda/a.test.ts ..." runs those files alone instead; TEST_TIMEOUT (s, default 420) bounds the tests.
# Everything under $OUT ends in one archive, logs.tar.gz: the device tool brings back at most 8 files a call, so a call
# of several invocations gives each its own OUT one folder down and keeps the files beside them few.
# --offline-lite runs bench/vlm-offline.ts's main run alone (THROUGHPUT_REQUESTS, default 128) with the step profile
#   (OFFLINE_CPU_PROF=1 adds V8's cpu profiles of its threads; OFFLINE_EAGER_MODULES=1 a second run with
#   CUDA_MODULE_LOADING=EAGER).
# --vision runs bench/vision-encode.ts (the vision tower alone: 1 and 14 pictures a call) and bench/vision-layers-cuda.ts
#   (one vision block's kernels over 14 pictures' patches, each timed in a graph); --ncu-vision profiles its
#   kernels (14 pictures a call) with Nsight Compute.
# --scout-layers runs bench/decode-layers-scout.ts (Llama 4 Scout's FP8 decoder kernel by kernel in graphs, all 48
#   layers' weights on the GPU) on ${SCOUT_MODEL:-/tmp/scout/llama4-scout-shape} at batch 1 (SCOUT_BATCHES="1 64" adds 64).
# --timeline-scout runs bench/fp8-timeline-scout.ts (the FP8 products' phases on one clock inside Scout's decode layers)
#   by the backend's rule and with every product on the tensor cores (timeline-scout-{rule,tc}-<budget>.json).
# --serve runs iris serve's load benchmark (bench/serve-load.ts: 1,000 requests, 64 clients) on the demo model on cuda.
#   bash scripts/device/cuda-run.sh [--no-bench] [--no-test] [--quick] [--hf] [--latency] [--latency-scout] [--throughput] [--throughput-hf] [--decode] [--ncu-decode] [--ncu-detail] [--scout-layers] [--timeline-scout] [--serve]
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
decode=0
ncu_decode=0
serve=0
offline_lite=0
vision=0
ncu_vision=0
ncu_detail=0
scout_layers=0
timeline_scout=0
latency_scout=0
throughput_scout=0
for arg in "$@"; do
  case "$arg" in
    --no-bench) bench=0 ;;
    --quick) quick="--quick" ;;
    --hf) hf=1 ;;
    --latency) latency=1 ;;
    --throughput) throughput=1 ;;
    --throughput-hf) throughput_hf=1 ;;
    --no-test) run_tests=0 ;;
    --decode) decode=1 ;;
    --ncu-decode) ncu_decode=1 ;;
    --serve) serve=1 ;;
    --offline-lite) offline_lite=1 ;;
    --vision) vision=1 ;;
    --ncu-vision) ncu_vision=1 ;;
    --ncu-detail) ncu_detail=1 ;;
    --scout-layers) scout_layers=1 ;;
    --timeline-scout) timeline_scout=1 ;;
    --latency-scout) latency_scout=1 ;;
    --throughput-scout) throughput_scout=1 ;;
  esac
done
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
# The SM clock, temperature, power and why the clock is held down, at the phases' edges, into clocks.txt (printed last):
# offline runs that follow the ~4-minute test run read 5-15% slower in every compute-bound phase (sessions 9 and 10).
clocks() {
  local reasons
  reasons=$(nvidia-smi --query-gpu=clocks_event_reasons.active --format=csv,noheader 2>/dev/null ||
    nvidia-smi --query-gpu=clocks_throttle_reasons.active --format=csv,noheader 2>/dev/null)
  echo "$1: $(nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>&1), reasons ${reasons:-?}" \
    >> "$out/clocks.txt"
}
clocks start
start=$(date +%s)
node scripts/build-native.mjs > "$out/build-cpu.log" 2>&1 &  # the cpu reference's matrix product, beside
# The H200 runs sm_90a machine code alone; the other targets (sm_80 above all) would triple the build's time.
# CUDA_ALL_ARCHS=1 builds the shipped list instead.
[[ -n ${CUDA_ALL_ARCHS:-} ]] || export NVCC_ARCHS=${NVCC_ARCHS:-compute_90a:sm_90a}
node scripts/build-cuda.mjs --strict 2>&1 | tee "$out/build.log"
build_rc=${PIPESTATUS[0]}
wait
echo "build: rc=$build_rc in $(( $(date +%s) - start )) s"
test_rc=skipped
if [[ $build_rc == 0 ]]; then
  if [[ $run_tests == 1 ]]; then
    # TEST_TIMEOUT (s, default 420): the tests stop there and the script goes on to its benchmarks and its summary;
    # an outer timeout would kill the script before it archives its logs. The full run took ~140-180 s on the H200.
    if [[ -n ${TEST_PATHS:-} ]]; then  # a few test files instead of all of tests/cuda (a quick check)
      timeout "${TEST_TIMEOUT:-420}" node scripts/run-tests.mjs $TEST_PATHS > "$out/test-cuda.log" 2>&1
    else
      timeout "${TEST_TIMEOUT:-420}" npm run test:cuda > "$out/test-cuda.log" 2>&1
    fi
    test_rc=$?
    clocks "after the tests"
    [[ $test_rc == 124 ]] && echo "test:cuda stopped at TEST_TIMEOUT; last test reached: $(grep -E '✔|✖' "$out/test-cuda.log" | tail -1)"
  fi
  if [[ $bench == 1 ]]; then
    node --import tsx bench/kernels-cuda.ts $quick > "$out/kernels-cuda.json" 2> "$out/kernels-cuda.txt"
    echo "bench rc=$?"
  fi
fi
if [[ $latency == 1 && $build_rc == 0 ]]; then
  # LATENCY_CPU_PROF=1: V8's cpu profiles of its threads under $out/cpu-prof-latency (where a prefill's launch goes).
  lprof=(); [[ -n ${LATENCY_CPU_PROF:-} ]] && lprof=(--cpu-prof --cpu-prof-dir "$out/cpu-prof-latency")
  timeout 300 node "${lprof[@]}" --import tsx bench/latency.ts --model .device-bench/qwen2_5-vl-3b-shape --image .device-bench/photo-512.png \
    > "$out/latency-iris.json" 2> "$out/latency-iris.err"
  echo "iris latency rc=$?"
  # LATENCY_CLUSTER=1: again with decode attention's splits merged in clusters (IRIS_DECODE_CLUSTER_MERGE=1).
  if [[ -n ${LATENCY_CLUSTER:-} ]]; then
    IRIS_DECODE_CLUSTER_MERGE=1 timeout 300 node --import tsx bench/latency.ts --model .device-bench/qwen2_5-vl-3b-shape \
      --image .device-bench/photo-512.png > "$out/latency-iris-cluster.json" 2> "$out/latency-iris-cluster.err"
    echo "iris latency (cluster merge) rc=$?"
  fi
fi
model=.device-bench/qwen2_5-vl-3b-shape
if [[ $decode == 1 && $build_rc == 0 ]]; then
  # DECODE_LAYERS_ONLY=1: the kernel-by-kernel layers at batch 1 alone (the sweeps of the knobs), no engine steps.
  if [[ -z ${DECODE_LAYERS_ONLY:-} ]]; then
    for variant in "b1 --batch 1" "b64 --batch 64" ${DECODE_EAGER:+"b1-eager --batch 1 --disable-cuda-graph"}; do
      read -r name flags <<< "$variant"
      timeout 180 node --import tsx bench/decode-step.ts --model $model $flags > "$out/decode-$name.json" 2> "$out/decode-$name.err"
      echo "decode $name rc=$?"
    done
  fi
  # LAYER_BATCHES="1 64 512": the batches of the kernel-by-kernel layers (the offline workload decodes at 512; its KV
  # cache at the default 4,096-token context would take 75 GB, so 1,024 from 256 sequences on).
  batches=(1 64); [[ -n ${DECODE_LAYERS_ONLY:-} ]] && batches=(1)
  [[ -n ${LAYER_BATCHES:-} ]] && read -r -a batches <<< "$LAYER_BATCHES"
  for b in "${batches[@]}"; do
    context=4096; (( b >= 256 )) && context=1024
    timeout 120 node --import tsx bench/decode-layers-cuda.ts --batch $b --context-length $context > "$out/layers-b$b.json" 2> "$out/layers-b$b.err"
    echo "decode layers b$b rc=$?"
  done
fi
scout_model=${SCOUT_MODEL:-/tmp/scout/llama4-scout-shape}
if [[ $latency_scout == 1 && $build_rc == 0 ]]; then
  timeout 400 node --import tsx bench/latency.ts --model "$scout_model" --image .device-bench/photo-512.png --quantization fp8 \
    > "$out/latency-scout.json" 2> "$out/latency-scout.err"
  echo "scout latency rc=$?"
  # LATENCY_BULK=1: again with the tensor-core FP8 products by bulk copies (IRIS_FP8_BULK_ROWS=1).
  if [[ -n ${LATENCY_BULK:-} ]]; then
    IRIS_FP8_BULK_ROWS=1 timeout 400 node --import tsx bench/latency.ts --model "$scout_model" --image .device-bench/photo-512.png \
      --quantization fp8 > "$out/latency-scout-bulk.json" 2> "$out/latency-scout-bulk.err"
    echo "scout latency (bulk copies) rc=$?"
  fi
fi
if [[ $scout_layers == 1 && $build_rc == 0 ]]; then
  for b in ${SCOUT_BATCHES:-1}; do
    timeout 300 node --import tsx bench/decode-layers-scout.ts --model "$scout_model" --batch $b \
      > "$out/scout-layers-b$b.json" 2> "$out/scout-layers-b$b.err"
    echo "scout layers b$b rc=$?"
  done
fi
if [[ $timeline_scout == 1 && $build_rc == 0 ]]; then
  # TIMELINE_RUNS: "mode:budget[:launch[:batch]]" (mode rule or tc, budget MB or default; launch ordinary: the folded
  # downs as ordinary launches, IRIS_FP8_PAIRED_DOWN_DEPENDENT=0; batch: fp8StreamBatch), default "rule:default tc:default".
  for run in ${TIMELINE_RUNS:-rule:default tc:default}; do
    IFS=: read -r mode budget launch batch <<< "$run"
    flags=(); [[ $mode == tc ]] && flags+=(--tensor-cores); [[ $budget != default ]] && flags+=(--prefetch-mb "$budget")
    [[ -n $batch ]] && flags+=(--stream-batch "$batch")
    name="timeline-scout-$mode-$budget${launch:+-$launch}${batch:+-b$batch}"
    IRIS_FP8_PAIRED_DOWN_DEPENDENT=$([[ $launch == ordinary ]] && echo 0 || echo 1) \
      timeout 200 node --import tsx bench/fp8-timeline-scout.ts --model "$scout_model" "${flags[@]}" > "$out/$name.json" 2> "$out/$name.err"
    echo "scout timeline $run rc=$?"
  done
fi
if [[ $ncu_decode == 1 && $build_rc == 0 ]]; then
  # Eager decode (one launch per kernel); the launches before are the prefills and the first decode steps.
  # NCU_GRAPH=1: the replayed graphs' kernels instead (each graph node profiled as a launch).
  ncu_mode=(--disable-cuda-graph); ncu_flags=()
  [[ -n ${NCU_GRAPH:-} ]] && { ncu_mode=(); ncu_flags=(--graph-profiling node); }
  timeout 240 ncu --clock-control none "${ncu_flags[@]}" --metrics gpu__time_duration.sum --csv --launch-skip 2500 --launch-count 600 \
    node --import tsx bench/decode-step.ts --model $model --batch 1 --decode-tokens 16 "${ncu_mode[@]}" \
    > "$out/ncu-decode.csv" 2> "$out/ncu-decode.err"
  echo "ncu decode rc=$?"
fi
if [[ $ncu_detail == 1 && $build_rc == 0 ]]; then
  # Nsight Compute's full sections (throughput, stalls, instruction mix) for a few launches of the kernels that stand
  # furthest from their floors: batch-1 decode attention and gemv (3B shape, eager), the FP8 products at Scout's
  # shapes (bench/fp8-cuda.ts, eager launches). Text reports under $out/ncu-detail-*.txt.
  timeout 150 ncu --clock-control none --set full -k regex:"decodeAttention|gemvKernel" --launch-skip 400 --launch-count 6 \
    node --import tsx bench/decode-step.ts --model $model --batch 1 --decode-tokens 8 --disable-cuda-graph \
    > "$out/ncu-detail-decode.txt" 2> "$out/ncu-detail-decode.err"
  echo "ncu detail decode rc=$?"
  timeout 150 ncu --clock-control none --set full -k regex:"quantizingRows|fp8Rows|Moe|moe" --launch-count 8 \
    node --import tsx bench/fp8-cuda.ts --quick > "$out/ncu-detail-fp8.txt" 2> "$out/ncu-detail-fp8.err"
  echo "ncu detail fp8 rc=$?"
  # The same products with their dot products on the tensor cores (bench/fp8-cuda.ts's fp8DecodeOnTensorCores timings).
  timeout 150 ncu --clock-control none --set full --kernel-name-base demangled -k regex:"MmaRows" --launch-count 8 \
    node --import tsx bench/fp8-cuda.ts --quick > "$out/ncu-detail-fp8-mma.txt" 2> "$out/ncu-detail-fp8-mma.err"
  echo "ncu detail fp8 tensor cores rc=$?"
fi
if [[ $vision == 1 && $build_rc == 0 ]]; then
  timeout 120 node --import tsx bench/vision-encode.ts --model $model --image .device-bench/photo-512.png --images 1,14 \
    > "$out/vision-encode.json" 2> "$out/vision-encode.err"
  echo "vision encode rc=$?"
  timeout 120 node --import tsx bench/vision-layers-cuda.ts --images 14 > "$out/vision-layers.json" 2> "$out/vision-layers.err"
  echo "vision layers rc=$?"
fi
if [[ $ncu_vision == 1 && $build_rc == 0 ]]; then
  # Every kernel of the vision tower's calls (1 and 14 pictures, one timed call each after the warm-ups).
  timeout 240 ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-count 4000 \
    node --import tsx bench/vision-encode.ts --model $model --image .device-bench/photo-512.png --images 14 --repeats 1 \
    > "$out/ncu-vision.csv" 2> "$out/ncu-vision.err"
  echo "ncu vision rc=$?"
fi
requests=${THROUGHPUT_REQUESTS:-512}
# Issue 10's engine: KV for 512 x ~484 tokens (24 GiB of bf16 holds ~680k tokens); one batch of all the requests.
# THROUGHPUT_FLAGS: more engine flags for the three runs, e.g. "--cuda-graph-max-bs 512" (decode graphs up to the
# whole batch; the engine's default stops at 160, SGLang's on an H200 at 256).
engine_flags=(--model $model --device cuda --context-length 1024 --kv-cache-mb 24576 --max-running-requests 512 --preprocess-workers 12
  ${THROUGHPUT_FLAGS:-})
if [[ $throughput == 1 && $build_rc == 0 ]]; then
  clocks "before offline"
  timeout 300 node --import tsx bench/vlm-offline.ts "${engine_flags[@]}" --requests "$requests" \
    > "$out/vlm-offline-iris.json" 2> "$out/vlm-offline-iris.err"
  echo "iris offline rc=$?"
  clocks "after offline"
  # THROUGHPUT_CPU_PROF=1: V8's cpu profiles of the shared-picture and formats runs' threads (where the caller's thread
  # and the engine core spend a request's preparation) under $out/cpu-prof-shared and $out/cpu-prof-formats (sampled
  # every 100 µs: one request's ~15 ms would get ~15 samples at the default 1 ms).
  sprof=(); fprof=()
  [[ -n ${THROUGHPUT_CPU_PROF:-} ]] && { sprof=(--cpu-prof --cpu-prof-dir "$out/cpu-prof-shared"); fprof=(--cpu-prof --cpu-prof-interval 100 --cpu-prof-dir "$out/cpu-prof-formats"); }
  timeout 240 node "${sprof[@]}" --import tsx bench/vlm-shared-picture.ts "${engine_flags[@]}" --requests "$requests" \
    > "$out/vlm-shared-picture-iris.json" 2> "$out/vlm-shared-picture-iris.err"
  echo "iris shared picture rc=$?"
  timeout 120 node "${fprof[@]}" --import tsx bench/vlm-formats.ts "${engine_flags[@]}" > "$out/vlm-formats-iris.json" 2> "$out/vlm-formats-iris.err"
  echo "iris formats rc=$?"
fi
if [[ $offline_lite == 1 && $build_rc == 0 ]]; then
  # The offline workload's main run alone (no phase runs), with the step profile's totals: where its time goes.
  # OFFLINE_CPU_PROF=1: V8's cpu profile of every thread (engine core, preprocess workers) under $out/cpu-prof.
  prof=(); [[ -n ${OFFLINE_CPU_PROF:-} ]] && prof=(--cpu-prof --cpu-prof-dir "$out/cpu-prof")
  lite=(bench/vlm-offline.ts "${engine_flags[@]}" --requests "${THROUGHPUT_REQUESTS:-128}" --no-phases)
  timeout 180 node "${prof[@]}" --import tsx "${lite[@]}" > "$out/vlm-offline-lite.json" 2> "$out/vlm-offline-lite.err"
  echo "iris offline (lite) rc=$?"
  if [[ -n ${OFFLINE_EAGER_MODULES:-} ]]; then
    # The same run with every kernel module loaded at start (CUDA loads them lazily, at first launch, by default).
    CUDA_MODULE_LOADING=EAGER timeout 180 node --import tsx "${lite[@]}" \
      > "$out/vlm-offline-lite-eager-modules.json" 2> "$out/vlm-offline-lite-eager-modules.err"
    echo "iris offline (lite, eager module loading) rc=$?"
  fi
fi
if [[ $throughput_scout == 1 && $build_rc == 0 ]]; then
  # Scout's FP8 weights (~109 GB) leave ~24 GB of KV (~125k tokens: ~140 of these ~900-token requests at once).
  timeout 420 node --import tsx bench/vlm-offline.ts --model "$scout_model" --device cuda --quantization fp8 --no-phases \
    --context-length 1024 --kv-cache-mb 24576 --max-running-requests 512 --preprocess-workers 12 --requests "${SCOUT_REQUESTS:-512}" \
    > "$out/vlm-offline-scout.json" 2> "$out/vlm-offline-scout.err"
  echo "scout offline rc=$?"
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log("scout offline:", JSON.stringify({ workload: d.workload, results: d.results, floor: d.floor }))' "$out/vlm-offline-scout.json" 2>/dev/null \
    || tail -n 8 "$out/vlm-offline-scout.err"
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
if [[ $serve == 1 && $build_rc == 0 ]]; then
  timeout ${SERVE_SECONDS:-300} node --import tsx bench/serve-load.ts --device cuda > "$out/serve-load-cuda.json" 2> "$out/serve-load-cuda.err"
  echo "serve load rc=$?"
fi
if [[ $hf == 1 ]]; then
  PYTHONUNBUFFERED=1 python3 bench/reference/latency_hf.py --model .device-bench/qwen2_5-vl-3b-shape \
    --image .device-bench/photo-512.png > "$out/latency-hf.json" 2> "$out/latency-hf.err"
  echo "hf twin rc=$?"
fi
clocks end
echo "==== clocks ===="
cat "$out/clocks.txt"
echo "==== failures ===="
grep -A30 "✖" "$out/test-cuda.log" 2>/dev/null | grep -v "^\s*at " | head -150
echo "==== test:cuda summary (rc=$test_rc) ===="
grep -E "^(#|ℹ) (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)" "$out/test-cuda.log" 2>/dev/null
echo "==== kernels ===="
cat "$out/kernels-cuda.txt" 2>/dev/null
if [[ $latency == 1 ]]; then echo "==== iris latency ===="; cat "$out/latency-iris.json"; tail -15 "$out/latency-iris.err"; fi
if [[ -s $out/latency-iris-cluster.json ]]; then echo "==== iris latency, cluster merge ===="; cat "$out/latency-iris-cluster.json"; fi
if [[ $latency_scout == 1 ]]; then
  echo "==== scout fp8 latency ===="
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); delete d.ttftMs.all; console.log(JSON.stringify(d))' \
    "$out/latency-scout.json" 2>/dev/null || tail -15 "$out/latency-scout.err"
fi
if [[ $throughput == 1 || $throughput_hf == 1 ]]; then
  echo "==== throughput (issue 10) ===="
  for f in "$out"/vlm-*.err; do [[ -s $f ]] && { echo "-- $(basename "$f")"; tail -5 "$f"; }; done
  node --import tsx bench/vlm-table.ts "$out"
fi
if [[ $offline_lite == 1 ]]; then
  echo "==== offline (lite) ===="
  for f in "$out"/vlm-offline-lite*.json; do
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(process.argv[1].split("/").pop(), JSON.stringify({ results: d.results, floorTokS: d.floor.outputTokensPerS, totals: d.stepProfileTotals }));
      const r = (x) => (x == null ? "-" : x.toFixed(1));
      for (const g of d.promptSteps ?? []) console.log(`  ${g.kind}: launch ${r(g.medianMs.launch)} wait ${r(g.medianMs.wait)} span ${r(g.medianMs.deviceSpan)} idleBefore ${r(g.medianMs.deviceIdleBefore)} vision ${r(g.medianMs.deviceVision)}`)' "$f" 2>/dev/null \
      || tail -n 8 "${f%.json}.err"
  done
fi
if [[ $vision == 1 ]]; then
  echo "==== vision tower ===="
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify(d.results))' "$out/vision-encode.json" 2>/dev/null \
    || tail -n 5 "$out/vision-encode.err"
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(d.kernels.map((k) => `${k.kernel} ${k.us}${k.tflops !== undefined ? ` (${k.tflops} TFLOP/s)` : ` (${k.GBps} GB/s)`}`).join("; "));
    console.log(`blocks a picture (ms): ${JSON.stringify(d.blocksMsPerImage)}, with q, k, v copied apart: ${JSON.stringify(d.blocksMsPerImageCopies)}`)' "$out/vision-layers.json" 2>/dev/null \
    || tail -n 5 "$out/vision-layers.err"
fi
if [[ $decode == 1 ]]; then
  echo "==== decode ===="
  for f in "$out"/decode-*.json; do
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(process.argv[1].split("/").pop(), d.tokensPerS.toFixed(1), "tok/s", d.msPerStep.toFixed(3), "ms/step", JSON.stringify(d.stepProfile))' "$f" 2>/dev/null \
      || echo "$(basename "$f"): unreadable"
  done
  tail -n 3 "$out"/decode-*.err
  for f in "$out"/layers-b*.json; do
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(`layers batch ${d.batch}: ${d.kernels.map((k) => `${k.kernel} ${k.perCallUs}${k.marginalUs === undefined ? "" : ` (in the chain ${k.marginalUs})`}`).join(", ")} µs a call;`,
        `sum ${d.sumOfKernelsUs}, 36 layers as one graph ${d.layersGraphUs}, the step ${d.stepGraphUs} µs; floor ${d.floorUsAt4240GBps};`,
        `attention by splits: ${d.attentionSplits.map((a) => `${a.splits}: ${a.perCallUs}`).join(", ")};`,
        `attention by blocks a group: ${d.attentionParts.map((a) => `${a.parts}: ${a.perCallUs}`).join(", ")}; decode kernel ${d.attentionOnDecodeKernelUs} / tensor cores ${d.attentionOnTensorCoresUs} / decode on tensor cores ${d.attentionOnDecodeTensorCoresUs} (by splits: ${(d.attentionDecodeTensorCoresSplits ?? []).map((a) => `${a.splits}: ${a.perCallUs}`).join(", ")}; by warps x stages: ${(d.attentionDecodeTensorCoresShapes ?? []).map((a) => `${a.warps}x${a.stages}: ${a.perCallUs}`).join(", ")}; floor ${d.attentionFloorUs});`,
        `attention by lanes a key: ${(d.attentionLanesPerKey ?? []).map((a) => `${a.lanes}: ${a.perCallUs}`).join(", ")} (4 lanes by blocks a group: ${(d.attentionPartsAtFourLanes ?? []).map((a) => `${a.parts}: ${a.perCallUs}`).join(", ")});`,
        `gemv by warps a row (qkv/o/gate-up/down/lm head): ${d.gemvSplits.map((g) => `${g.split}: ${g.qkvUs}/${g.oUs}/${g.gateUpUs}/${g.downUs}/${g.lmHeadUs}`).join(", ")};`,
        `unfused gate|up, siluAndMul: ${d.unfusedGateUp ? `${d.unfusedGateUp.gateUpUs}, ${d.unfusedGateUp.siluAndMulUs}` : "-"}`)' "$f" 2>/dev/null \
      || { echo "$(basename "$f"): unreadable"; tail -n 5 "${f%.json}.err"; }
  done
fi
if [[ $timeline_scout == 1 ]]; then
  echo "==== scout fp8 products' timeline ===="
  node scripts/device/timeline-table.mjs "$out"
fi
if [[ $scout_layers == 1 ]]; then
  echo "==== scout fp8 decode layers ===="
  for f in "$out"/scout-layers-b*.json; do
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const k = (r) => `${r.kernel} ${r.perCallUs}${r.marginalUs === undefined ? "" : ` (chain ${r.marginalUs})`} µs x${r.calls}${r.readBytes > 1e6 ? ` ${r.GBps} GB/s` : ""}`;
      console.log(`scout layers batch ${d.batch} (${d.distinctLayers}/${d.layers} layers own weights, ${d.expertsReadPerMoeCall} experts a MoE call): ${d.kernels.map(k).join(", ")};`,
        `step kernels: ${d.step.map(k).join(", ")};`,
        `sum ${d.sumOfLayerKernelsUs}, ${d.layers} layers as one graph ${d.layersGraphUs} (${d.perLayerUs} a layer), lm head ${d.lmHeadUs}, the step ${d.stepGraphUs} µs (${d.tokensPerSAtStepGraph} tok/s);`,
        `floor ${d.floorUsAt4240GBps} µs (${d.stepReadGB} GB a step), achieved ${d.achievedGBps} GB/s${d.memoryNote ? `; ${d.memoryNote}` : ""};`,
        `fp8 loads in flight a lane: ${(d.fp8StreamBatches ?? []).map((r) => JSON.stringify(r)).join(" ")};`,
        `attention by lanes a key: ${(d.attentionLanesPerKey ?? []).map((a) => `${a.lanes}: ${a.perCallUs}`).join(", ")}, decode on tensor cores ${d.attentionOnDecodeTensorCoresUs};`,
        `fp8 quantization inside the product (default ${d.fp8QuantizeInProductDefault}) or a kernel before (counted): ${(d.fp8QuantizeInProduct ?? []).map((r) => JSON.stringify(r)).join(" ")};`,
        `fp8 dot products on the tensor cores or the CUDA cores (default tensor cores ${d.fp8ProductOnTensorCoresDefault}): ${(d.fp8ProductOnTensorCores ?? []).map((r) => JSON.stringify(r)).join(" ")};`,
        `tensor-core products by bulk copies or registers: ${(d.fp8BulkRows ?? []).map((r) => JSON.stringify(r)).join(" ")}`)' "$f" 2>/dev/null \
      || { echo "$(basename "$f"): unreadable"; tail -n 5 "${f%.json}.err"; }
  done
fi
for ncu_csv in ncu-decode ncu-vision; do
  [[ -f "$out/$ncu_csv.csv" ]] || continue  # written only by --ncu-decode / --ncu-vision
  echo "==== $ncu_csv (kernel, launches, total µs over the profiled launches) ===="
  python3 - "$out/$ncu_csv.csv" <<'PY' || tail -5 "$out/$ncu_csv.err"
import csv, sys, collections
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))]
total = collections.defaultdict(float); count = collections.Counter()
for r in rows:
    # "void iris::<unnamed>::rotaryKernel<__nv_bfloat16>(...)" -> "rotaryKernel<__nv_bfloat16>"
    name = r["Kernel Name"].split("(")[0].replace("void ", "").replace("iris::<unnamed>::", "").replace("iris::", "")
    value = float(r["Metric Value"].replace(",", ""))
    unit = r["Metric Unit"]
    total[name] += value * {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}[unit]
    count[name] += 1
for name, us in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"{name[:60]:60s} {count[name]:5d} {us:10.1f}")
print("kernels", len(rows), "total µs", round(sum(total.values()), 1))
PY
done
if [[ $serve == 1 ]]; then
  echo "==== iris serve load (cuda) ===="
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); delete d.serverMemory.samples; console.log(JSON.stringify(d))' "$out/serve-load-cuda.json" 2>/dev/null
  tail -5 "$out/serve-load-cuda.err"
fi
if [[ $hf == 1 ]]; then echo "==== hugging face twin ===="; cat "$out/latency-hf.json"; tail -5 "$out/latency-hf.err"; fi
# The device tool brings back only a few files: every log and result in one archive.
tar -czf /tmp/iris-run-logs.tar.gz -C "$out" . && find "$out" -mindepth 1 -delete && mv /tmp/iris-run-logs.tar.gz "$out/logs.tar.gz"
[[ $build_rc == 0 && ( $test_rc == 0 || $run_tests == 0 ) ]]
