/**
 * Where the vision tower's device time goes, kernel by kernel: the kernels of one Qwen2.5-VL-3B vision block (as
 * src/models/qwen2-5-vl-vision.ts runs it) over the patches of `--images` 504x504 pictures (1,296 patches each), each
 * captured `--calls` times in a CUDA graph and the graph replayed between two timing marks (bench/graph-timing.ts).
 * Per kernel: µs a call, and the rate against the work (TFLOP/s for products and attention, GB/s for the rest); then
 * the tower's 32 blocks (28 windowed, 4 full attention) per picture from those sums, to compare with the step
 * profile's `deviceVision`. The MLP's products run at its intermediate size 3420 and padded to 3424 (16-byte rows;
 * src/layers/gated-mlp.ts pads it), so the cost of the misalignment shows. Kernels marked "before" are what a block
 * ran before (q and k rotated in two launches), timed for comparison and left out of the sums. From the q|k|v product
 * to attention a block runs one of two paths: `rotaryAttentionQKV` in place (q and k rotated inside the product,
 * attention reading q, k, v there; the default) or the copies (three sliceColumns, applyRotaryQK, attention of the
 * copies; `attentionQkvInPlace: false`); the sums are given for both. Prints JSON.
 *
 *   node --import tsx bench/vision-layers-cuda.ts [--images 14] [--calls 4] [--device cuda]
 */
import { parseArgs } from "node:util";
import { addInPlace } from "../src/kernels/add.js";
import { addRmsNorm } from "../src/kernels/add-rms-norm.js";
import { applyRotary, applyRotaryQK } from "../src/kernels/apply-rotary.js";
import { attention } from "../src/kernels/attention.js";
import { linear } from "../src/kernels/linear.js";
import { rotaryAttentionQKV } from "../src/kernels/rotary-attention-qkv.js";
import { rmsNorm } from "../src/kernels/rms-norm.js";
import { siluAndMul } from "../src/kernels/silu-and-mul.js";
import { sliceColumns } from "../src/kernels/slice-columns.js";
import type { Segments } from "../src/runtime/backend.js";
import { fromHost } from "../src/runtime/creation.js";
import { tuneCudaKernels, type KernelTuning } from "../src/runtime/cuda/kernel-tuning.js";
import { getDevice } from "../src/runtime/device.js";
import { deviceRandom } from "./device-random.js";
import { graphMicroseconds } from "./graph-timing.js";
import { runInfo } from "./run-info.js";

const { values } = parseArgs({
  options: {
    images: { type: "string", default: "14" },
    calls: { type: "string", default: "4" },
    device: { type: "string", default: "cuda" },
  },
});
const device = getDevice(values.device as "cpu" | "cuda");
const backend = device.backend;
const images = Number(values.images), calls = Number(values.calls);

// Qwen2.5-VL-3B's vision tower (../shared/fixtures/models/qwen2_5-vl-3b-shape): 32 blocks, 4 with full attention.
const H = 1280, heads = 16, D = 80, I = 3420, IPadded = 3424, patchesPerImage = 1296, windowPatches = 64;
const blocks = 32, fullBlocks = 4;
const P = images * patchesPerImage;
const dtype = device.floatDType;

const random = deviceRandom(device, { dtype, low: -0.05, high: 0.05 });
/** Segments of the given lengths, the same for every picture. */
const segments = (perImage: number[]): Segments => {
  const ends = [0];
  for (let i = 0; i < images; i++) for (const n of perImage) ends.push(ends[ends.length - 1] + n);
  return { cuSeqlens: fromHost(device, Int32Array.from(ends), { dtype: "I32" }), maxSeqLen: Math.max(...perImage) };
};

// ==== one block's weights and the step's buffers ====
const w = {
  norm1: random([H], dtype, 0.5, 1.5), norm2: random([H], dtype, 0.5, 1.5),
  qkv: random([3 * H, H]), qkvBias: random([3 * H]), proj: random([H, H]), projBias: random([H]),
  gateUp: random([2 * I, H]), gateUpBias: random([2 * I]), down: random([H, I]), downBias: random([H]),
  gateUpPadded: random([2 * IPadded, H]), gateUpPaddedBias: random([2 * IPadded]), downPadded: random([H, IPadded]),
};
const x = random([P, H], dtype, -1, 1), normed = random([P, H]), qkv = random([P, 3 * H]);
const q = random([P, heads, D]), k = random([P, heads, D]), v = random([P, heads, D]), attended = random([P, heads, D]);
const projected = random([P, H]), mlpOut = random([P, H]);
const gateUp = random([P, 2 * I]), act = random([P, I]), gateUpPadded = random([P, 2 * IPadded]), actPadded = random([P, IPadded]);
// The 2-D vision rotary: 40 angles a patch (the row's 20 frequencies, then the column's), the whole head rotated.
// (rotaryStoreKV through identity slots, one kernel for the three slices and two rotations, measured 366 µs here
// against their 238: it reads each element's pair and angle one value at a time.)
const cos = random([P, D / 2], "F32", -1, 1), sin = random([P, D / 2], "F32", -1, 1);
// A 36 x 36 patch grid is 18 x 18 merged tokens in windows of 4 x 4 merged (64 patches): 16 whole windows, 8 of
// 4 x 2 (32 patches) along two edges and a 2 x 2 corner (16).
const windows = segments([...new Array<number>(16).fill(windowPatches), ...new Array<number>(8).fill(32), 16]);
const frames = segments([patchesPerImage]);
const eps = 1e-6;

const flop = (m: number, k: number, n: number) => 2 * m * k * n;
// QK^T and PV over each segment's keys (windows: counted as if all were whole, a 13% overcount).
const attentionFlop = (length: number) => 4 * P * length * heads * D;
const bytes = (...shapes: number[][]) => shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0) * (dtype === "F32" ? 4 : 2);

type Path = "inPlace" | "copies";
interface Kernel {
  name: string; run: () => void; flop?: number; bytes?: number;
  in: "every" | "windowed" | "full" | "aligned" | "padded" | "before";
  /** Only in the blocks of this path from the q|k|v product to attention (left out: in both). */
  path?: Path;
}
const attentionOptions = { scale: 1 / Math.sqrt(D), causal: false };
/** Runs `run` under `tuning` (the knobs back to their rules after). */
function tuned(tuning: KernelTuning, run: () => void): void {
  tuneCudaKernels(tuning);
  try {
    run();
  } finally {
    tuneCudaKernels({});
  }
}
const qkvHeads = qkv.view([P, 3 * heads, D]);
const kernels: Kernel[] = [
  { name: "rmsNorm (norm1)", run: () => rmsNorm(x, w.norm1, eps, normed), bytes: bytes([P, H], [P, H]), in: "every" },
  { name: "qkv linear (+bias)", run: () => linear(normed, w.qkv, w.qkvBias, qkv), flop: flop(P, H, 3 * H), in: "every" },
  { name: "sliceColumns q", run: () => sliceColumns(qkv, 0, H, q.view([P, H])), bytes: bytes([P, H], [P, H]), in: "every", path: "copies" },
  { name: "sliceColumns k", run: () => sliceColumns(qkv, H, H, k.view([P, H])), bytes: bytes([P, H], [P, H]), in: "every", path: "copies" },
  { name: "sliceColumns v", run: () => sliceColumns(qkv, 2 * H, H, v.view([P, H])), bytes: bytes([P, H], [P, H]), in: "every", path: "copies" },
  { name: "applyRotary q (before)", run: () => applyRotary(q, cos, sin, "neox"), bytes: bytes([P, H], [P, H]), in: "before" },
  { name: "applyRotary k (before)", run: () => applyRotary(k, cos, sin, "neox"), bytes: bytes([P, H], [P, H]), in: "before" },
  // q and k read and written, cos and sin read once ([P, D / 2] F32 each: the bytes of [P, D] bf16).
  { name: "applyRotaryQK (q and k, one launch)", run: () => applyRotaryQK(q, k, cos, sin, "neox"),
    bytes: bytes([P, H], [P, H], [P, H], [P, H], [P, D], [P, D]), in: "every", path: "copies" },
  { name: `attention (windows of ${windowPatches})`, run: () => attention(q, k, v, windows, attentionOptions, attended),
    flop: attentionFlop(windowPatches), in: "windowed", path: "copies" },
  { name: `attention (pictures of ${patchesPerImage})`, run: () => attention(q, k, v, frames, attentionOptions, attended),
    flop: attentionFlop(patchesPerImage), in: "full", path: "copies" },
  // The same rotation and attention from the product in place (each call rotates the product again: a rotation keeps
  // the values' size, so the timing stays meaningful).
  { name: `rotaryAttentionQKV in place (windows of ${windowPatches})`,
    run: () => rotaryAttentionQKV(qkvHeads, heads, cos, sin, "neox", windows, attentionOptions, attended),
    flop: attentionFlop(windowPatches), in: "windowed", path: "inPlace" },
  // The windows as before attention_window.cu (q and k rotated in the product, then the tensor-core kernel), and
  // that kernel at other head counts a block, timed for comparison (the knobs are the cuda backend's).
  ...(device.kind === "cuda" ? [{ attentionWindows: false }, ...[1, 2, 8, 16].map((n) => ({ attentionWindowHeads: n }))].map((tuning: KernelTuning) => ({
    name: `rotaryAttentionQKV in place, ${tuning.attentionWindows === false ? "rotation apart" : `${tuning.attentionWindowHeads} heads a block`} ` +
      `(before; windows of ${windowPatches})`,
    run: () => tuned(tuning, () => rotaryAttentionQKV(qkvHeads, heads, cos, sin, "neox", windows, attentionOptions, attended)),
    flop: attentionFlop(windowPatches), in: "before" as const,
  })) : []),
  { name: `rotaryAttentionQKV in place (pictures of ${patchesPerImage})`,
    run: () => rotaryAttentionQKV(qkvHeads, heads, cos, sin, "neox", frames, attentionOptions, attended),
    flop: attentionFlop(patchesPerImage), in: "full", path: "inPlace" },
  { name: "proj linear (+bias)", run: () => linear(attended.view([P, H]), w.proj, w.projBias, projected), flop: flop(P, H, H), in: "every" },
  { name: "addRmsNorm (norm2)", run: () => addRmsNorm(x, projected, w.norm2, eps, normed), bytes: bytes([P, H], [P, H], [P, H], [P, H]), in: "every" },
  { name: `gate|up linear (+bias), I = ${I}`, run: () => linear(normed, w.gateUp, w.gateUpBias, gateUp), flop: flop(P, H, 2 * I), in: "aligned" },
  { name: `siluAndMul, I = ${I}`, run: () => siluAndMul(gateUp, act), bytes: bytes([P, 2 * I], [P, I]), in: "aligned" },
  { name: `down linear (+bias), I = ${I}`, run: () => linear(act, w.down, w.downBias, mlpOut), flop: flop(P, I, H), in: "aligned" },
  { name: `gate|up linear (+bias), I = ${IPadded}`, run: () => linear(normed, w.gateUpPadded, w.gateUpPaddedBias, gateUpPadded),
    flop: flop(P, H, 2 * IPadded), in: "padded" },
  { name: `siluAndMul, I = ${IPadded}`, run: () => siluAndMul(gateUpPadded, actPadded), bytes: bytes([P, 2 * IPadded], [P, IPadded]), in: "padded" },
  { name: `down linear (+bias), I = ${IPadded}`, run: () => linear(actPadded, w.downPadded, w.downBias, mlpOut), flop: flop(P, IPadded, H), in: "padded" },
  { name: "addInPlace (residual)", run: () => addInPlace(x, mlpOut), bytes: bytes([P, H], [P, H], [P, H]), in: "every" },
];

const round = (n: number, digits = 2) => +n.toFixed(digits);
const rows: { kernel: string; us: number; tflops?: number; GBps?: number }[] = [];
const usOf = new Map<string, number>();
for (const kernel of kernels) {
  const us = await graphMicroseconds(backend, () => { for (let c = 0; c < calls; c++) kernel.run(); }, calls, device.kind === "cpu" ? 1 : 10);
  usOf.set(kernel.name, us);
  rows.push({
    kernel: kernel.name, us: round(us),
    ...(kernel.flop !== undefined && { tflops: round(kernel.flop / us / 1e6, 1) }),
    ...(kernel.bytes !== undefined && { GBps: round(kernel.bytes / us / 1e3, 0) }),
  });
}
/** One block's µs: every kernel it runs, with its attention and its MLP at `mlp`'s intermediate size. */
const blockUs = (attentionKind: "windowed" | "full", mlp: "aligned" | "padded", path: Path = "inPlace") =>
  kernels.filter((k) => (k.in === "every" || k.in === attentionKind || k.in === mlp) && (k.path ?? path) === path)
    .reduce((n, k) => n + usOf.get(k.name)!, 0);
const towerMsPerImage = (mlp: "aligned" | "padded", path: Path = "inPlace") =>
  round(((blocks - fullBlocks) * blockUs("windowed", mlp, path) + fullBlocks * blockUs("full", mlp, path)) / 1000 / images, 3);

console.log(JSON.stringify({
  benchmark: "vision-layers-cuda", ...runInfo(import.meta.url), device: backend.description ?? device.kind,
  images, patches: P, callsPerGraph: calls,
  kernels: rows,
  windowedBlockUs: { aligned: round(blockUs("windowed", "aligned"), 1), padded: round(blockUs("windowed", "padded"), 1),
    alignedCopies: round(blockUs("windowed", "aligned", "copies"), 1) },
  fullBlockUs: { aligned: round(blockUs("full", "aligned"), 1), padded: round(blockUs("full", "padded"), 1) },
  // The 32 blocks from these sums (the patch embedding, window reordering and merger left out).
  blocksMsPerImage: { aligned: towerMsPerImage("aligned"), padded: towerMsPerImage("padded") },
  // The same blocks with q, k and v copied apart before the rotation and attention (the path before attention_qkv.cu).
  blocksMsPerImageCopies: { aligned: towerMsPerImage("aligned", "copies"), padded: towerMsPerImage("padded", "copies") },
}, null, 2));
