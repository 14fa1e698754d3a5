/**
 * Qwen2.5-VL's 3-D rotary positions (M-RoPE, transformers' `get_rope_index`) for prompts with images.
 *
 * Text tokens get the same position in all three rows (t, h, w), counting on from the previous maximum. The tokens of
 * an image (after spatial merging: grid_h/2 x grid_w/2 of them, row-major) get t = 0, h = row, w = column, all offset
 * by the position the image starts at; the text after it resumes at the largest position so far plus one, so an image
 * advances positions by max(rows, columns), not by its token count. The decode offset `ropeDelta` is
 * `max(position) + 1 - length`: during decoding every row gets `cachePosition + ropeDelta`.
 */
import { IrisError } from "../core/errors.js";
import type { GridThw } from "./qwen2-vl-image-processor.js";

export interface MRopeTokenConfig {
  readonly imageTokenId: number;
  readonly visionStartTokenId: number;
  readonly spatialMergeSize: number;
}

export interface MRopePositions {
  /** Rows t, h, w of length L each: `positions[row * L + i]`. */
  readonly positions: Int32Array;
  readonly ropeDelta: number;
}

/** Positions for `inputIds` (no padding) whose image placeholders were expanded for `imageGridThw`, in order. */
export function mropePositions(inputIds: ArrayLike<number>, imageGridThw: readonly GridThw[], config: MRopeTokenConfig): MRopePositions {
  const { imageTokenId, visionStartTokenId, spatialMergeSize: merge } = config;
  const length = inputIds.length;
  // As the reference, an image is a vision-start token directly followed by an image token.
  let images = 0;
  for (let i = 0; i + 1 < length; i++) if (inputIds[i] === visionStartTokenId && inputIds[i + 1] === imageTokenId) images++;
  if (images !== imageGridThw.length) {
    throw new IrisError("IMAGE_TOKEN_MISMATCH", `input_ids hold ${images} images (vision start followed by an image token) but ${imageGridThw.length} image grids were given`);
  }

  const positions = new Int32Array(3 * length);
  const setAll = (i: number, p: number): void => {
    positions[i] = p;
    positions[length + i] = p;
    positions[2 * length + i] = p;
  };
  let next = 0; // largest position so far + 1
  let cursor = 0;
  for (const [gridT, gridH, gridW] of imageGridThw) {
    let start = cursor;
    while (start < length && inputIds[start] !== imageTokenId) start++;
    for (let i = cursor; i < start; i++) setAll(i, next + (i - cursor));
    const base = next + (start - cursor);
    const rows = gridH / merge, cols = gridW / merge;
    const count = gridT * rows * cols;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || start + count > length) {
      throw new IrisError("IMAGE_TOKEN_MISMATCH", `image grid [${gridT}, ${gridH}, ${gridW}] needs ${count} image tokens at position ${start}, but input_ids are too short`);
    }
    let i = start;
    for (let t = 0; t < gridT; t++) {
      for (let h = 0; h < rows; h++) {
        for (let w = 0; w < cols; w++, i++) {
          if (inputIds[i] !== imageTokenId) {
            throw new IrisError("IMAGE_TOKEN_MISMATCH", `image grid [${gridT}, ${gridH}, ${gridW}] needs ${count} consecutive image tokens from position ${start}, found another token at ${i}`);
          }
          positions[i] = base; // t * second_per_grid_t * tokens_per_second, which is 0 for images
          positions[length + i] = base + h;
          positions[2 * length + i] = base + w;
        }
      }
    }
    if (i < length && inputIds[i] === imageTokenId) {
      throw new IrisError("IMAGE_TOKEN_MISMATCH", `image grid [${gridT}, ${gridH}, ${gridW}] takes ${count} image tokens from position ${start}, but the run of image tokens is longer`);
    }
    next = base + Math.max(rows, cols, 1);
    cursor = i;
  }
  for (let i = cursor; i < length; i++) setAll(i, next + (i - cursor));
  const last = length > cursor ? next + (length - cursor) : next;
  return { positions, ropeDelta: last - length };
}
