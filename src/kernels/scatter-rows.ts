import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, expectShape, sameDevice } from "./check.js";

/**
 * In place: dst[index[n]] = src[n] for dst [T, H], index I32 [N] (distinct rows), src [N, H]. Puts image
 * embeddings into the rows of their placeholder tokens. Returns dst.
 */
export function scatterRows(dst: Tensor, index: Tensor, src: Tensor): Tensor {
  const kernel = "scatterRows";
  const device = sameDevice(kernel, { dst, index, src });
  expectRank(kernel, "dst", dst, 2);
  expectCondition(kernel, src.dtype === dst.dtype, `src must be ${dst.dtype} like dst, got ${src.dtype}`);
  expectDType(kernel, "index", index, "I32");
  expectRank(kernel, "index", index, 1);
  expectShape(kernel, "src", src, [index.shape[0], dst.shape[1]]);
  expectNoOverlap(kernel, dst, { src });
  device.backend.scatterRows(dst, index, src);
  return dst;
}
