/**
 * Device-filled uniform values for the benchmarks' weights and activations, each tensor from the next seed of a
 * counter starting at 1 (so a benchmark draws the same values run after run). Never zeros: products of zeros run
 * faster than real data.
 */
import { empty } from "../src/runtime/creation.js";
import type { Device } from "../src/runtime/device.js";
import type { TensorDType } from "../src/runtime/dtype.js";
import type { Tensor } from "../src/runtime/tensor.js";

export type RandomTensor = (shape: readonly number[], dtype?: TensorDType, low?: number, high?: number) => Tensor;

/** A drawer of random tensors on `device`, with the defaults for what the caller leaves out. */
export function deviceRandom(device: Device, defaults: { dtype: TensorDType; low: number; high: number }): RandomTensor {
  let seed = 1;
  return (shape, dtype = defaults.dtype, low = defaults.low, high = defaults.high) => {
    const t = empty(device, shape, dtype);
    device.backend.fillUniform(t, seed++, low, high);
    return t;
  };
}
