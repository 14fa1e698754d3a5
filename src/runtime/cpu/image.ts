/** Image preprocessing on the cpu backend: the reference for the cuda kernels (`Backend.patchifyImage`, `resizeImage`). */
import { resampleAxes, unpackAxisWeights } from "../../core/resample-passes.js";
import type { ImageResize, PatchGeometry, ResizeAxis } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { f32, i32 } from "./storage.js";

const CHANNELS = 3;

/** One output element per step, in output order, each mapped back to its pixel byte: the cuda kernel's order. */
export function patchifyImage(out: Tensor, pixels: Tensor, table: Tensor, g: PatchGeometry): void {
  const o = f32(out), lut = f32(table);
  const packed = i32(pixels);
  const bytes = new Uint8Array(packed.buffer, packed.byteOffset, g.width * g.height * CHANNELS);
  const { patchSize: ps, mergeSize: ms, temporalPatchSize: tps } = g;
  const plane = ps * ps, perChannel = tps * plane, patchDim = CHANNELS * perChannel;
  const blocksW = g.width / ps / ms;
  const rows = (g.width / ps) * (g.height / ps);
  for (let row = 0; row < rows; row++) {
    const block = Math.floor(row / (ms * ms)), inner = row % (ms * ms);
    const gy = Math.floor(block / blocksW) * ms + Math.floor(inner / ms), gx = (block % blocksW) * ms + (inner % ms);
    for (let col = 0; col < patchDim; col++) {
      const c = Math.floor(col / perChannel), within = col % plane;
      const y = gy * ps + Math.floor(within / ps), x = gx * ps + (within % ps);
      o[row * patchDim + col] = lut[c * 256 + bytes[(y * g.width + x) * CHANNELS + c]];
    }
  }
}

/** The picture's bytes of a packed I32 tensor (the padding of its last element left out). */
function bytesOf(t: Tensor, length: number): Uint8Array {
  const packed = i32(t);
  return new Uint8Array(packed.buffer, packed.byteOffset, length);
}

/** The shared passes of src/core/resample-passes.ts, on the tensors' bytes. */
export function resizeImage(out: Tensor, pixels: Tensor, scratch: Tensor | null, r: ImageResize): void {
  const axis = (a: ResizeAxis | null, outSize: number) => (a === null ? null : unpackAxisWeights(i32(a.table), outSize, a.taps, a.precision));
  const src = { width: r.srcWidth, height: r.srcHeight, channels: CHANNELS, data: bytesOf(pixels, r.srcWidth * r.srcHeight * CHANNELS) };
  resampleAxes(src, axis(r.horizontal, r.width), axis(r.vertical, r.height), bytesOf(out, r.width * r.height * CHANNELS),
    scratch === null ? undefined : bytesOf(scratch, r.width * r.srcHeight * CHANNELS));
}
