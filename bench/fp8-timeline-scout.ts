/**
 * When each phase of each quantizing FP8 product runs inside Llama 4 Scout's decode layers at batch 1 (issue 11),
 * printing JSON: the layers as the model runs them (bench/scout-decoder.ts's foldedKernels: q|k|v, o, the MoE block's
 * folded gate|up and down), captured in one CUDA graph with the products' timeline on (native/cuda/include/
 * fp8_timeline.cuh), replayed, and each product's blocks' marks read back: when blocks entered (became resident),
 * passed the wait on the kernel ahead, loaded x's first row and reduced its amax (the plain products only), finished
 * the first part of their prologue (fp8_timeline.cuh says which), had x quantized and ended their streaming, on the global ns timer, from the first product's first entry. Per launch:
 * those marks' spread (earliest, p10, median, p90, latest), the multiprocessors its blocks ran on and how many each,
 * and per block (its own cycle counter, converted at the rate its two clocks agree on) the spread of each phase;
 * between launches, the gap from one product's last block's end to the next one's first release.
 * The graph's µs a layer (replays between timing marks) for the same layers beside it. Only the tensor-core streams
 * carry the marks (fp8_quantizing.cuh's markIf): by the backend's rule o and the folded down (5,120 rows) run on the
 * CUDA cores and go unrecorded; `--tensor-cores` forces every product onto the tensor cores.
 *
 * `--prefetch-mb` sets the products' L2 prefetch budget (kernel-tuning's fp8PrefetchBudget) instead of the default,
 * `--stream-batch` their loads in flight a lane (fp8StreamBatch: 8 and 16 hold fewer blocks a multiprocessor).
 *
 *   node --import tsx bench/fp8-timeline-scout.ts --model DIR [--layers 4] [--kv-len 600] [--tensor-cores] [--prefetch-mb N]
 *     [--stream-batch N]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModelConfig } from "../src/checkpoint/model-config.js";
import { cudaAddonStatus } from "../src/runtime/cuda/addon.js";
import { tuneCudaKernels } from "../src/runtime/cuda/kernel-tuning.js";
import { devicePtr } from "../src/runtime/cuda/storage.js";
import { empty } from "../src/runtime/creation.js";
import { getDevice } from "../src/runtime/device.js";
import { graphMicroseconds } from "./graph-timing.js";
import { runInfo } from "./run-info.js";
import { buildDecoder } from "./scout-decoder.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    layers: { type: "string", default: "4" },
    "kv-len": { type: "string", default: "600" },
    "tensor-cores": { type: "boolean", default: false },
    "prefetch-mb": { type: "string" },
    "stream-batch": { type: "string" },
  },
});
if (values.model === undefined) throw new Error("--model DIR is required (a Llama 4 config.json; the weights are made on the device)");
const config = loadModelConfig(join(values.model, "config.json"));
if (config.family !== "llama4") throw new Error(`${values.model} is ${config.family}, not Llama 4`);
const addon = cudaAddonStatus().addon;
if (addon === null) throw new Error(`the cuda addon: ${cudaAddonStatus().reason}`);
const device = getDevice("cuda");
const prefetchMB = values["prefetch-mb"] === undefined ? undefined : Number(values["prefetch-mb"]);
const streamBatch = values["stream-batch"] === undefined ? undefined : Number(values["stream-batch"]);
tuneCudaKernels({
  ...(values["tensor-cores"] ? { fp8ProductOnTensorCores: true } : {}),
  ...(prefetchMB === undefined ? {} : { fp8PrefetchBudget: prefetchMB }),
  ...(streamBatch === undefined ? {} : { fp8StreamBatch: streamBatch }),
});
const backend = device.backend;
const graphs = backend.graphs!;
const L = Number(values.layers);
const layers = Array.from({ length: L }, (_, i) => i);
const d = buildDecoder(device, config.text, { batch: 1, kvLen: Number(values["kv-len"]), contextLength: 131072, layers: L, distinct: L, pageSize: 16 });
const body = () => layers.forEach((i) => d.foldedKernels.forEach((k) => { if (k.on(i)) k.run(i); }));
const perLayerUs = (await graphMicroseconds(backend, body, 1)) / L;

// The marks: 7 (ns, cycles) pairs and the multiprocessor a block (fp8_timeline.cuh's kWordsPerBlock), 64-bit words.
const MARKS = ["entry", "waited", "xLoaded", "reduced", "firstPart", "quantized", "streamed"] as const;
const [ENTRY, WAITED, X_LOADED, REDUCED, FIRST_PART, QUANTIZED, STREAMED] = MARKS.map((_, i) => i);
const WORDS = 2 * MARKS.length + 1;
const capacityWords = 4096 * WORDS * 4 * L;
const buffer = empty(device, [2 * capacityWords], "I32");
backend.fill(buffer, 0);
body(); // eagerly once more, so nothing the capture needs is made inside it
addon.setFp8Timeline(devicePtr(buffer), 8 * capacityWords);
let graph: number;
let launchLines: string;
graphs.begin();
try {
  body();
} finally {
  graph = graphs.end();
  launchLines = addon.fp8TimelineLaunches();
  addon.setFp8Timeline(0, 0);
}
for (let r = 0; r < 5; r++) graphs.replay(graph);
await backend.synchronize();
const halves = (await backend.download(buffer)) as Int32Array;
graphs.destroy(graph);
buffer.dispose();
const word = (i: number): bigint => (BigInt(halves[2 * i + 1] >>> 0) << 32n) | BigInt(halves[2 * i] >>> 0);

interface Block { sm: number; ns: bigint[]; cycles: bigint[] }
const launches = launchLines.trim().split("\n").filter((l) => l !== "").map((line) => {
  const [name, gx, gy, first] = line.split(",");
  const blocks: Block[] = [];
  for (let b = 0; b < Number(gx) * Number(gy); b++) {
    const at = Number(first) + b * WORDS;
    const ns = MARKS.map((_, m) => word(at + 2 * m)), cycles = MARKS.map((_, m) => word(at + 2 * m + 1));
    // A block that returned early (an expert without rows) wrote its entry alone; marks a kernel does not make stay 0.
    if (ns[STREAMED] !== 0n) blocks.push({ sm: Number(word(at + 2 * MARKS.length)), ns, cycles });
  }
  return { name, grid: [Number(gx), Number(gy)], blocks };
}).filter((l) => l.blocks.length > 0);
const origin = launches.flatMap((l) => l.blocks.map((b) => b.ns[0])).reduce((a, b) => (b < a ? b : a));
const us = (ns: bigint) => +(Number(ns - origin) / 1e3).toFixed(2);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
const at = (s: number[], q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
const spread = (xs: number[]) => { const s = sorted(xs); return { min: s[0], p10: at(s, 0.1), median: at(s, 0.5), p90: at(s, 0.9), max: s[s.length - 1] }; };
// Cycles to µs at the rate the blocks' own two clocks agree on.
const rate = median(launches.flatMap((l) => l.blocks.map((b) => Number(b.ns[STREAMED] - b.ns[ENTRY]) / Math.max(1, Number(b.cycles[STREAMED] - b.cycles[ENTRY])))));
const rows = launches.map((l, j) => {
  const marked = (m: number) => l.blocks.filter((b) => b.ns[m] !== 0n);
  const mark = (m: number) => (marked(m).length === 0 ? undefined : spread(marked(m).map((b) => us(b.ns[m]))));
  const phase = (from: number, to: number) => {
    const both = l.blocks.filter((b) => b.ns[from] !== 0n && b.ns[to] !== 0n);
    if (both.length === 0) return undefined;
    const s = spread(both.map((b) => Number(b.cycles[to] - b.cycles[from]) * rate / 1e3));
    return { p10: +s.p10.toFixed(2), median: +s.median.toFixed(2), p90: +s.p90.toFixed(2), max: +s.max.toFixed(2) };
  };
  const perSM = new Map<number, number>();
  for (const b of l.blocks) perSM.set(b.sm, (perSM.get(b.sm) ?? 0) + 1);
  const previous = j > 0 ? launches[j - 1] : undefined;
  const lastEnd = previous === undefined ? undefined : Math.max(...previous.blocks.map((b) => us(b.ns[STREAMED])));
  return {
    launch: j, name: l.name, grid: l.grid, blocks: l.blocks.length, sms: perSM.size,
    blocksPerSM: { min: Math.min(...perSM.values()), max: Math.max(...perSM.values()) },
    entryUs: mark(ENTRY), waitedUs: mark(WAITED), xLoadedUs: mark(X_LOADED), reducedUs: mark(REDUCED),
    firstPartUs: mark(FIRST_PART), quantizedUs: mark(QUANTIZED), streamedUs: mark(STREAMED),
    blockEntryToWaitedUs: phase(ENTRY, WAITED), blockWaitToXLoadedUs: phase(WAITED, X_LOADED),
    blockXLoadedToReducedUs: phase(X_LOADED, REDUCED), blockReducedToFirstPartUs: phase(REDUCED, FIRST_PART),
    blockWaitToFirstPartUs: phase(WAITED, FIRST_PART), blockFirstPartToQuantizedUs: phase(FIRST_PART, QUANTIZED),
    blockWaitToQuantizedUs: phase(WAITED, QUANTIZED), blockQuantizedToStreamedUs: phase(QUANTIZED, STREAMED),
    previousEndToReleaseUs: lastEnd === undefined ? undefined : +(mark(WAITED)!.min - lastEnd).toFixed(2),
  };
});
console.log(JSON.stringify({ ...runInfo(import.meta.url), device: backend.description, tensorCores: values["tensor-cores"], prefetchMB: prefetchMB ?? "default",
  streamBatch: streamBatch ?? "default", layers: L, perLayerUs: +perLayerUs.toFixed(2),
  nsPerCycle: +rate.toFixed(4), launches: rows }, null, 1));
