import { IrisError } from "../core/errors.js";
import { packAxisWeights, type AxisWeights } from "../core/resample-passes.js";
import type { ImageResize, ResizeAxis } from "../runtime/backend.js";
import { empty, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectShape, output, sameDevice } from "./check.js";

/** I32 elements that hold `bytes` bytes packed four to an element (as `packBytes` packs them). */
export function packedLength(bytes: number): number {
  return Math.ceil(bytes / 4);
}

/**
 * One axis's fixed-point weights (from `computeAxisWeights`) on `device`, checked against the input size they read
 * (see `packAxisWeights`); `resizeImage` takes them.
 */
export function uploadAxisWeights(device: Device, weights: AxisWeights, inSize: number): ResizeAxis {
  return { table: fromHost(device, packAxisWeights(weights, inSize), { dtype: "I32" }), taps: weights.taps, precision: weights.precision };
}

/**
 * An interleaved 8-bit RGB picture resized on its device (see `Backend.resizeImage`): its bytes packed four to an
 * I32 element (`packBytes`) in, the resized bytes packed the same way out. The uint8 intermediate of two passes
 * is taken from the current scope (the step arena while the runner encodes) and given back at once outside one.
 */
export function resizeImage(pixels: Tensor, resize: ImageResize, out?: Tensor): Tensor {
  const kernel = "resizeImage";
  const { srcWidth, srcHeight, width, height, horizontal, vertical } = resize;
  const device = sameDevice(kernel, { pixels, out, horizontal: horizontal?.table, vertical: vertical?.table });
  const sizes = [srcWidth, srcHeight, width, height];
  if (!sizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new IrisError("INVALID_ARGUMENT", `${kernel}: sizes must be positive integers, got ${srcWidth}x${srcHeight} -> ${width}x${height}`);
  }
  expectDType(kernel, "pixels", pixels, "I32");
  expectShape(kernel, "pixels", pixels, [packedLength(srcWidth * srcHeight * 3)]);
  checkAxis(kernel, "horizontal", horizontal, width, width !== srcWidth);
  checkAxis(kernel, "vertical", vertical, height, height !== srcHeight);
  const result = output(kernel, device, out, [packedLength(width * height * 3)], "I32");
  expectNoOverlap(kernel, result, { pixels });
  const scratch = horizontal !== null && vertical !== null ? empty(device, [packedLength(width * srcHeight * 3)], "I32") : null;
  device.backend.resizeImage(result, pixels, scratch, resize);
  // Outside an arena the intermediate goes back now; on cuda stream order keeps it until the passes are done.
  scratch?.dispose();
  return result;
}

function checkAxis(kernel: string, name: string, axis: ResizeAxis | null, outSize: number, needed: boolean): void {
  expectCondition(kernel, (axis !== null) === needed, `${name} weights must be given exactly when that side's size changes`);
  if (axis === null) return;
  expectCondition(kernel, Number.isInteger(axis.taps) && axis.taps > 0 && Number.isInteger(axis.precision) && axis.precision >= 1 &&
    axis.precision <= 22, `${name}: taps ${axis.taps} and precision ${axis.precision} out of range`);
  expectDType(kernel, `${name}.table`, axis.table, "I32");
  expectShape(kernel, `${name}.table`, axis.table, [outSize * (2 + axis.taps)]);
}
