/**
 * The cuda backend's image preprocessing (native/cuda/kernels/image.cu and resize_image.cu), the addon calls of
 * `Backend.patchifyImage` and `Backend.resizeImage` (kept out of cuda-backend.ts, whose line budget is spent).
 */
import type { ImageResize, PatchGeometry } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { DTYPE_CODE, type CudaAddon } from "./addon.js";
import { devicePtr as ptr, optionalPtr } from "./storage.js";

export function patchifyImage(addon: CudaAddon, out: Tensor, pixels: Tensor, table: Tensor, g: PatchGeometry): void {
  addon.patchifyImage(DTYPE_CODE[out.dtype], ptr(out), ptr(pixels), ptr(table), g.width, g.height, g.patchSize, g.mergeSize,
    g.temporalPatchSize);
}

/** A table address 0 for an axis whose size stays, scratch 0 unless both passes run. */
export function resizeImage(addon: CudaAddon, out: Tensor, pixels: Tensor, scratch: Tensor | null, r: ImageResize): void {
  const h = r.horizontal, v = r.vertical;
  addon.resizeImage(ptr(out), ptr(pixels), optionalPtr(scratch), r.srcWidth, r.srcHeight, r.width, r.height, optionalPtr(h?.table),
    h?.taps ?? 0, h?.precision ?? 0, optionalPtr(v?.table), v?.taps ?? 0, v?.precision ?? 0);
}
