/** The arguments of the backends' image preprocessing (`Backend.patchifyImage`, `Backend.resizeImage`). */
import type { Tensor } from "./tensor.js";

/** The sizes `patchifyImage` works with (in pixels; width and height multiples of patchSize * mergeSize). */
export interface PatchGeometry {
  readonly width: number;
  readonly height: number;
  readonly patchSize: number;
  readonly mergeSize: number;
  readonly temporalPatchSize: number;
}

/** What `resizeImage` does: sizes in pixels and each axis's weights (null for an axis whose size stays). */
export interface ImageResize {
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly width: number;
  readonly height: number;
  /** Present exactly when width differs from srcWidth. */
  readonly horizontal: ResizeAxis | null;
  /** Present exactly when height differs from srcHeight. */
  readonly vertical: ResizeAxis | null;
}

/** One axis of `resizeImage`: its fixed-point weights on the device. */
export interface ResizeAxis {
  /**
   * I32 [outSize * (2 + taps)] as `packAxisWeights` (src/core/resample-passes.ts) lays it out and checks it: each
   * output index's first input, then each one's tap count, then `taps` weights per output index.
   */
  readonly table: Tensor;
  readonly taps: number;
  /** Fractional bits of the weights (1..22). */
  readonly precision: number;
}
