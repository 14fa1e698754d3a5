/**
 * Device buffers that outlive steps, filled through `upload` into views of them, so a step's inputs sit at the same
 * addresses every time (what a captured CUDA graph replays on) and a warmed-up step allocates nothing.
 */
import { empty, upload } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";

type HostOf<D extends "I32" | "F32"> = D extends "I32" ? Int32Array : Float32Array;

/** A fixed-capacity device buffer with a host array of the same capacity to fill before each upload. */
export class StagedBuffer<D extends "I32" | "F32"> {
  readonly device: Tensor;
  readonly host: HostOf<D>;

  constructor(device: Device, dtype: D, readonly capacity: number) {
    this.device = empty(device, [capacity], dtype);
    this.host = (dtype === "I32" ? new Int32Array(capacity) : new Float32Array(capacity)) as HostOf<D>;
  }

  /** Uploads the first `count` host values; returns the device view of them. */
  put(count: number): Tensor {
    const view = this.view(count);
    if (count > 0) upload(view, this.host.subarray(0, count));
    return view;
  }

  /** The device elements `start .. start+count-1`. */
  view(count: number, start = 0): Tensor {
    return this.device.narrow(start, count);
  }
}

/**
 * A device buffer for inputs of no fixed bound (a request's penalized tokens): it keeps its address until a step
 * needs more than it holds, then doubles. Grows only while a step is prepared, never inside a step's arena.
 */
export class GrowingBuffer<D extends "I32" | "F32"> {
  private tensor: Tensor | null = null;

  constructor(private readonly device: Device, private readonly dtype: D) {}

  /** Uploads `values` into the buffer's first elements; returns the device view of them. */
  put(values: HostOf<D>): Tensor {
    const needed = Math.max(1, values.length);
    if (this.tensor === null || this.tensor.numel < needed) {
      this.tensor?.dispose();
      this.tensor = empty(this.device, [Math.max(needed, 2 * (this.tensor?.numel ?? 0))], this.dtype);
    }
    const view = this.tensor.narrow(0, values.length);
    if (values.length > 0) upload(view, values);
    return view;
  }

  dispose(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }
}
