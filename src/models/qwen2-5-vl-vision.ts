/**
 * Qwen2.5-VL's vision tower (model-facts A2): patch embedding, 2-D rotary, windowed and full-attention blocks,
 * the patch merger, and the window order undone. Host bookkeeping of windows lives in qwen2-5-vl-vision-layout.ts.
 */
import { IrisError } from "../core/errors.js";
import type { QwenVisionConfig } from "../checkpoint/qwen2-5-vl-config.js";
import { addRmsNorm } from "../kernels/add-rms-norm.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { gelu } from "../kernels/gelu.js";
import { rotaryAttentionQKV } from "../kernels/rotary-attention-qkv.js";
import { GatedMLP } from "../layers/gated-mlp.js";
import { Linear } from "../layers/linear.js";
import { QKVProjection } from "../layers/qkv-projection.js";
import { RMSNorm } from "../layers/norms.js";
import type { Parameters } from "../layers/parameters.js";
import { RotaryEmbedding, type RotaryTables } from "../layers/rotary.js";
import { defaultInvFreq } from "../layers/rotary-frequencies.js";
import { fromHost } from "../runtime/creation.js";
import type { Tensor } from "../runtime/tensor.js";
import type { Segments } from "../runtime/backend.js";
import { visionLayout, type ImageGrid } from "./qwen2-5-vl-vision-layout.js";

/** The vision RMSNorm's epsilon is fixed in the reference, not read from the config. */
const VISION_NORM_EPS = 1e-6;

class VisionBlock {
  /** Applied by the block before (or the tower, for the first): see forward. */
  readonly norm1: RMSNorm;
  private readonly norm2: RMSNorm;
  private readonly qkv: QKVProjection;
  private readonly proj: Linear;
  private readonly mlp: GatedMLP;

  constructor(params: Parameters, prefix: string, private readonly c: QwenVisionConfig) {
    this.norm1 = new RMSNorm(params, `${prefix}.norm1`, c.hiddenSize, VISION_NORM_EPS);
    this.norm2 = new RMSNorm(params, `${prefix}.norm2`, c.hiddenSize, VISION_NORM_EPS);
    const shape = { hidden: c.hiddenSize, numHeads: c.numHeads, numKvHeads: c.numHeads, headDim: c.headDim };
    this.qkv = new QKVProjection(params, `${prefix}.attn.qkv`, shape, { bias: true, separate: false });
    this.proj = new Linear(params, `${prefix}.attn.proj`, c.hiddenSize, c.hiddenSize, { bias: true });
    this.mlp = new GatedMLP(params, `${prefix}.mlp`, c.hiddenSize, c.intermediateSize, true);
  }

  /**
   * Updates the residual stream x in place. `normed` holds norm1(x) on entry; on return it holds next(x), the next
   * block's norm1 (or the merger's norm) of the updated stream: the residual add and that norm are one kernel
   * (addRmsNorm), one pass over the stream fewer than an add and a norm apart.
   */
  forward(x: Tensor, normed: Tensor, next: RMSNorm, rotary: RotaryTables, segments: Segments): void {
    const { hiddenSize: H, headDim } = this.c;
    const N = x.shape[0];
    const qkv = this.qkv.fusedHeads(normed);
    const attended = rotaryAttentionQKV(qkv, this.qkv.heads.numKvHeads, rotary.cos, rotary.sin, "neox", segments,
      { scale: 1 / Math.sqrt(headDim), causal: false });
    const normed2 = addRmsNorm(x, this.proj.forward(attended.view([N, H])), this.norm2.weight, this.norm2.eps);
    addRmsNorm(x, this.mlp.forward(normed2), next.weight, next.eps, normed);
  }
}

export class Qwen2_5_VisionTower {
  private readonly patchEmbed: Linear;
  private readonly blocks: VisionBlock[];
  private readonly mergerNorm: RMSNorm;
  private readonly mergerFc1: Linear;
  private readonly mergerFc2: Linear;
  private readonly rotary: RotaryEmbedding;
  private readonly patchDim: number;

  constructor(private readonly params: Parameters, private readonly c: QwenVisionConfig) {
    this.patchDim = c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize;
    // The Conv3d with stride = kernel is a linear map of each flattened patch; its weight [out, c, t, y, x]
    // flattens in the same (c, t, y, x) order as the processor lays out a patch's pixels.
    this.patchEmbed = new Linear(params, "visual.patch_embed.proj", this.patchDim, c.hiddenSize, { bias: false });
    this.blocks = Array.from({ length: c.depth }, (_, i) => new VisionBlock(params, `visual.blocks.${i}`, c));
    const mergedDim = c.hiddenSize * c.spatialMergeSize * c.spatialMergeSize;
    this.mergerNorm = new RMSNorm(params, "visual.merger.ln_q", c.hiddenSize, VISION_NORM_EPS);
    this.mergerFc1 = new Linear(params, "visual.merger.mlp.0", mergedDim, mergedDim, { bias: true });
    this.mergerFc2 = new Linear(params, "visual.merger.mlp.2", mergedDim, c.outHiddenSize, { bias: true });
    // Rotary over half the head: the first half of the frequencies follow the patch row, the second its column.
    const half = defaultInvFreq(c.headDim / 2, c.ropeTheta);
    const invFreq = Float32Array.from([...half, ...half]);
    const section = Int32Array.from([...half.map(() => 0), ...half.map(() => 1)]);
    this.rotary = new RotaryEmbedding(params.device, invFreq, section);
  }

  /** pixelValues [patches, patchDim] → [merged tokens, outHiddenSize] in the images' row-major order. */
  forward(pixelValues: Tensor, grids: readonly ImageGrid[]): Tensor {
    const c = this.c;
    const device = this.params.device;
    const windowTokens = c.windowSize / c.spatialMergeSize / c.patchSize;
    const layout = visionLayout(grids, c.spatialMergeSize, windowTokens);
    if (pixelValues.shape[0] !== layout.numPatches || pixelValues.shape[1] !== this.patchDim) {
      throw new IrisError("IMAGE_TOKEN_MISMATCH", `pixel values [${pixelValues.shape.join(", ")}] do not match the grids (${layout.numPatches} patches of ${this.patchDim})`);
    }
    const upload = (data: Int32Array, shape?: number[]) => fromHost(device, data, { dtype: "I32", shape });

    const x = gatherRows(this.patchEmbed.forward(pixelValues), upload(layout.windowPatchOrder));
    const rotary = this.rotary.tables(upload(layout.rotaryPositions, [layout.numPatches, 2]));
    const windows: Segments = { cuSeqlens: upload(layout.cuWindowSeqlens), maxSeqLen: layout.maxWindowLen };
    const frames: Segments = { cuSeqlens: upload(layout.cuSeqlens), maxSeqLen: layout.maxFrameLen };
    // Each block leaves the next one's norm1 of the stream in `normed`; the last, the merger's norm.
    const normed = this.blocks.length > 0 ? this.blocks[0].norm1.forward(x) : this.mergerNorm.forward(x);
    this.blocks.forEach((block, i) => {
      const next = i + 1 < this.blocks.length ? this.blocks[i + 1].norm1 : this.mergerNorm;
      device.scratch(() => block.forward(x, normed, next, rotary, c.fullAttentionBlocks.includes(i) ? frames : windows));
    });

    const unit = c.spatialMergeSize * c.spatialMergeSize;
    const merged = normed.view([layout.numPatches / unit, c.hiddenSize * unit]);
    const out = this.mergerFc2.forward(gelu(this.mergerFc1.forward(merged)));
    return gatherRows(out, upload(layout.restoreOrder));
  }
}
