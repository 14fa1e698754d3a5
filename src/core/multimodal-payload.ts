/** A request's images in the form the model takes them, after processing on the caller's thread. */
import type { HostTensor } from "./host-tensor.js";
import type { ResampleFilter } from "./resample-passes.js";

export type MultimodalPayload =
  | {
      readonly kind: "pixels";
      /** Qwen2.5-VL: [patches, 1176]; Llama 4: [tiles, 3, 336, 336]. */
      readonly pixelValues: HostTensor;
      /** Qwen2.5-VL: [t, h, w] per image. */
      readonly imageGrids?: readonly (readonly number[])[];
      /** Llama 4: tiles per image (the global tile included). */
      readonly tilesPerImage?: readonly number[];
    }
  | {
      /**
       * Qwen2.5-VL's raw pictures as decoded, not yet resized, rescaled, normalized nor cut into patches: the device
       * does all of that (`resizeImage` to the grid's size, then `patchifyImage`), from the source bytes.
       */
      readonly kind: "rgb8";
      /** U8 [bytes]: each picture at its source size (`sourceSizes`), RGB row-major, in order. */
      readonly pixels: HostTensor;
      /** [width, height] of each picture in `pixels`. */
      readonly sourceSizes: readonly (readonly [number, number])[];
      /** [t, h, w] per image, t = 1: each picture is resized to height h * patch and width w * patch. */
      readonly imageGrids: readonly (readonly number[])[];
      /** The processor's resize filter (the weights are computed from it, as the processor computes them). */
      readonly resample: ResampleFilter;
      /** F32 [3 * 256]: each channel's value per 8-bit level (the processor's rescale and normalize). */
      readonly levelTable: Float32Array;
    }
  | {
      readonly kind: "embeddings";
      /** [image tokens, hidden]: the vision encoder's output in prompt order. */
      readonly embeddings: HostTensor;
      readonly imageGrids?: readonly (readonly number[])[];
    };

/** Rotary positions of a prompt, when they are not simply 0, 1, 2, ... (Qwen2.5-VL's M-RoPE). */
export interface PromptPositions {
  /** [length, rows] row-major (M-RoPE: rows t, h, w). */
  readonly values: Int32Array;
  readonly rows: number;
  /** A generated token at cache position p gets position p + decodeOffset in every row. */
  readonly decodeOffset: number;
}
