import { IrisError } from "../core/errors.js";
import type { PatchGeometry } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectRank, expectShape, output, sameDevice } from "./check.js";

/**
 * Qwen2-VL's patch rows [gridH * gridW, 3 * temporal * patch^2] of one resized RGB picture, from its bytes packed
 * four to an I32 element and a per-channel level table F32 [3, 256] (see `Backend.patchifyImage`).
 */
export function patchifyImage(pixels: Tensor, table: Tensor, geometry: PatchGeometry, out?: Tensor): Tensor {
  const kernel = "patchifyImage";
  const device = sameDevice(kernel, { pixels, table, out });
  const { width, height, patchSize, mergeSize, temporalPatchSize } = geometry;
  const unit = patchSize * mergeSize;
  if (!(width > 0 && height > 0 && width % unit === 0 && height % unit === 0)) {
    throw new IrisError("INVALID_ARGUMENT", `${kernel}: sides must be positive multiples of ${unit}, got ${width}x${height}`);
  }
  expectDType(kernel, "pixels", pixels, "I32");
  expectRank(kernel, "pixels", pixels, 1);
  expectShape(kernel, "pixels", pixels, [Math.ceil((width * height * 3) / 4)]);
  expectDType(kernel, "table", table, "F32");
  expectShape(kernel, "table", table, [3, 256]);
  const rows = (width / patchSize) * (height / patchSize);
  const result = output(kernel, device, out, [rows, 3 * temporalPatchSize * patchSize * patchSize], device.floatDType);
  device.backend.patchifyImage(result, pixels, table, geometry);
  return result;
}

/** Bytes packed four to an I32 element, little-endian (as `patchifyImage` reads them), the last element zero-padded. */
export function packBytes(bytes: Uint8Array): Int32Array {
  const packed = new Int32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(packed.buffer).set(bytes);
  return packed;
}
