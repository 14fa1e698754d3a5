/**
 * The query, key and value projections of an attention block as one matrix product (one weight [q|k|v]) whose
 * output the kernels after it read in place (the decoders' rotaryStoreKV, the vision towers' rotaryAttentionQKV).
 * Checkpoints store them either fused (Qwen2.5-VL's vision `attn.qkv`) or as separate `q_proj`/`k_proj`/`v_proj`
 * tensors, which the loader places into the fused weight's row blocks.
 */
import { IrisError } from "../core/errors.js";
import type { Tensor } from "../runtime/tensor.js";
import { Linear } from "./linear.js";
import type { RMSNorm } from "./norms.js";
import type { Parameters } from "./parameters.js";
import type { HeadShard } from "./tensor-parallel.js";

export interface QKVShape {
  readonly hidden: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

export class QKVProjection {
  private readonly qkv: Linear;

  private readonly s: QKVShape;

  /**
   * @param name the fused tensor's checkpoint prefix (e.g. `visual.blocks.0.attn.qkv`), or, with `separate`, the
   *   prefix holding `q_proj`, `k_proj` and `v_proj` (e.g. `model.layers.0.self_attn`)
   * @param options.shard a tensor-parallel rank's heads (column-parallel: its rows of q, k and v); `s` stays the
   *   whole model's shape
   */
  constructor(params: Parameters, name: string, whole: QKVShape,
    options: { bias: boolean; separate: boolean; shard?: HeadShard; quantizable?: boolean }) {
    const { shard } = options;
    if (shard !== undefined && !options.separate) throw new IrisError("INTERNAL", `internal error: ${name} is sharded but fused in the checkpoint`);
    const D = whole.headDim;
    this.s = shard === undefined ? whole : { ...whole, numHeads: shard.heads, numKvHeads: shard.kvHeads };
    const qSize = this.s.numHeads * D;
    const kvSize = this.s.numKvHeads * D;
    const kvShard = shard && { start: shard.kvHeadStart * D, extent: whole.numKvHeads * D };
    const parts = options.separate
      ? [
        { name: `${name}.q_proj`, rows: qSize, shard: shard && { start: shard.headStart * D, extent: whole.numHeads * D } },
        { name: `${name}.k_proj`, rows: kvSize, shard: kvShard },
        { name: `${name}.v_proj`, rows: kvSize, shard: kvShard },
      ]
      : undefined;
    this.qkv = new Linear(params, options.separate ? `${name}.qkv_proj` : name, whole.hidden, qSize + 2 * kvSize, {
      bias: options.bias, parts, quantizable: options.quantizable,
    });
  }

  /** The heads this projection produces (this rank's, under tensor parallelism). */
  get heads(): { readonly numHeads: number; readonly numKvHeads: number } {
    return this.s;
  }

  /** The fused projection [T, (numHeads + 2 numKvHeads) headDim], q then k then v columns. */
  fused(x: Tensor): Tensor {
    return this.qkv.forward(x);
  }

  /** `fused` over `norm` of x, the norm fused into the product where the backend can (Linear.forwardNormed). */
  fusedNormed(x: Tensor, norm: RMSNorm): Tensor {
    return this.qkv.forwardNormed(x, norm);
  }

  /** The fused projection as heads [T, numHeads + 2 numKvHeads, headDim]: q's heads, then k's, then v's. */
  fusedHeads(x: Tensor): Tensor {
    const { numHeads, numKvHeads, headDim } = this.s;
    return this.qkv.forward(x).view([x.shape[0], numHeads + 2 * numKvHeads, headDim]);
  }
}
