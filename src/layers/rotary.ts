/**
 * Rotary tables on the device. The inverse frequencies and the section map (which position row each frequency
 * reads) are uploaded once; each forward turns the step's positions into cos/sin with one kernel.
 */
import { ropeCosSin } from "../kernels/rope-cos-sin.js";
import { fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";

export interface RotaryTables {
  readonly cos: Tensor;
  readonly sin: Tensor;
}

export class RotaryEmbedding {
  private readonly invFreq: Tensor;
  private readonly section: Tensor | null;

  /**
   * @param invFreq one frequency per rotated pair
   * @param section for multi-row positions: the row of `positions` each frequency takes (null for 1-D positions)
   */
  constructor(device: Device, invFreq: Float32Array, section: Int32Array | null = null) {
    this.invFreq = fromHost(device, invFreq, { dtype: "F32" });
    this.section = section === null ? null : fromHost(device, section, { dtype: "I32" });
  }

  /** positions I32 [T, P] → cos, sin F32 [T, frequencies]. */
  tables(positions: Tensor): RotaryTables {
    return ropeCosSin(positions, this.invFreq, this.section);
  }
}
