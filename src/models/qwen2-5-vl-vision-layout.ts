/**
 * Host-side bookkeeping of Qwen2.5-VL's vision tower (model-facts A2): the order of the patches inside windows,
 * the window and whole-image segments, and each patch's (row, column) for the 2-D rotary embedding. Everything is
 * derived from the images' grids alone, so it is computed once per batch of images before any device work.
 */

export interface ImageGrid {
  readonly t: number;
  readonly h: number;
  readonly w: number;
}

export interface VisionLayout {
  /** Patches in total (rows of pixel_values). */
  readonly numPatches: number;
  /** Patch row (in pixel_values order) for each position of the window order. */
  readonly windowPatchOrder: Int32Array;
  /** Merged token (in window order) for each merged token of the original order: undoes the window order. */
  readonly restoreOrder: Int32Array;
  /** Cumulative patch counts of the windows (empty windows dropped), for the windowed blocks. */
  readonly cuWindowSeqlens: Int32Array;
  /** Cumulative patch counts of each frame of each image, for the full-attention blocks. */
  readonly cuSeqlens: Int32Array;
  /** Per patch in window order: (row, column) in its image's patch grid, as pairs [N, 2]. */
  readonly rotaryPositions: Int32Array;
  readonly maxWindowLen: number;
  readonly maxFrameLen: number;
}

/**
 * @param merge the spatial merge size (2): a merged token is a merge×merge block of patches.
 * @param windowTokens merged tokens per window side: window_size / merge / patch_size (4 for 112 px).
 */
export function visionLayout(grids: readonly ImageGrid[], merge: number, windowTokens: number): VisionLayout {
  const unit = merge * merge;
  const windowIndex: number[] = [];
  const cuWindow: number[] = [0];
  const cuFrames: number[] = [0];
  const positions: number[] = [];
  let tokenOffset = 0;

  for (const { t, h, w } of grids) {
    const llmH = h / merge;
    const llmW = w / merge;
    // NOTE: the reference pads by `windowTokens - n % windowTokens`, which is a whole empty window row or column
    // when n is already a multiple; empty windows add nothing here, exactly as they vanish there.
    const windowsH = Math.ceil((llmH + (windowTokens - (llmH % windowTokens))) / windowTokens);
    const windowsW = Math.ceil((llmW + (windowTokens - (llmW % windowTokens))) / windowTokens);
    for (let frame = 0; frame < t; frame++) {
      for (let wy = 0; wy < windowsH; wy++) {
        for (let wx = 0; wx < windowsW; wx++) {
          let count = 0;
          for (let y = wy * windowTokens; y < Math.min((wy + 1) * windowTokens, llmH); y++) {
            for (let x = wx * windowTokens; x < Math.min((wx + 1) * windowTokens, llmW); x++) {
              windowIndex.push(tokenOffset + frame * llmH * llmW + y * llmW + x);
              count++;
            }
          }
          if (count > 0) cuWindow.push(cuWindow[cuWindow.length - 1] + count * unit);
        }
      }
      cuFrames.push(cuFrames[cuFrames.length - 1] + h * w);
    }
    tokenOffset += t * llmH * llmW;
  }

  // Rotary positions of the patches in pixel_values order (merge-block order), per image.
  const tokenPositions: [number, number][] = [];
  for (const { t, h, w } of grids) {
    for (let frame = 0; frame < t; frame++) {
      for (let by = 0; by < h / merge; by++) {
        for (let bx = 0; bx < w / merge; bx++) {
          for (let my = 0; my < merge; my++) {
            for (let mx = 0; mx < merge; mx++) tokenPositions.push([by * merge + my, bx * merge + mx]);
          }
        }
      }
    }
  }

  const numTokens = windowIndex.length;
  const windowPatchOrder = new Int32Array(numTokens * unit);
  const restoreOrder = new Int32Array(numTokens);
  windowIndex.forEach((token, i) => {
    restoreOrder[token] = i;
    for (let k = 0; k < unit; k++) {
      const patch = token * unit + k;
      windowPatchOrder[i * unit + k] = patch;
      positions.push(tokenPositions[patch][0], tokenPositions[patch][1]);
    }
  });

  return {
    numPatches: numTokens * unit,
    windowPatchOrder,
    restoreOrder,
    cuWindowSeqlens: Int32Array.from(cuWindow),
    cuSeqlens: Int32Array.from(cuFrames),
    rotaryPositions: Int32Array.from(positions),
    maxWindowLen: maxGap(cuWindow),
    maxFrameLen: maxGap(cuFrames),
  };
}

function maxGap(cumulative: number[]): number {
  let max = 0;
  for (let i = 1; i < cumulative.length; i++) max = Math.max(max, cumulative[i] - cumulative[i - 1]);
  return max;
}
