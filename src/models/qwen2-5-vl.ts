/**
 * Qwen2.5-VL (model-facts A3): the vision tower's embeddings scattered over the `<|image_pad|>` tokens, then a
 * Qwen2 decoder with M-RoPE: pre-norm layers of biased q/k/v projections, rotary over three position rows,
 * grouped-query attention on the paged cache, and a SwiGLU MLP; a final norm and the (possibly tied) output head.
 */
import { PagedSelfAttention } from "../attention/paged-self-attention.js";
import type { AttentionBatch } from "../attention/attention-batch.js";
import type { Qwen2_5_VLConfig } from "../checkpoint/qwen2-5-vl-config.js";
import { addRmsNorm } from "../kernels/add-rms-norm.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { normedProductsFuse } from "../kernels/rms-norm-linear.js";
import { scatterRows } from "../kernels/scatter-rows.js";
import { Embedding } from "../layers/embedding.js";
import { GatedMLP } from "../layers/gated-mlp.js";
import { Linear } from "../layers/linear.js";
import { LMHead } from "../layers/lm-head.js";
import { headShard, type HeadShard } from "../layers/tensor-parallel.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import { QKVProjection } from "../layers/qkv-projection.js";
import { RMSNorm } from "../layers/norms.js";
import { Parameters } from "../layers/parameters.js";
import { RotaryEmbedding, type RotaryTables } from "../layers/rotary.js";
import { defaultInvFreq, mropeSectionMap } from "../layers/rotary-frequencies.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import type { ForwardBatch, VisionInput, VisionLanguageModel } from "./model.js";
import { Qwen2_5_VisionTower } from "./qwen2-5-vl-vision.js";

type TextConfig = Qwen2_5_VLConfig["text"];

class DecoderLayer {
  readonly inputNorm: RMSNorm;
  private readonly postAttentionNorm: RMSNorm;
  private readonly qkv: QKVProjection;
  private readonly o: Linear;
  private readonly attention: PagedSelfAttention;
  private readonly mlp: GatedMLP;

  /** This rank's attention heads (all of them in a group of one). */
  private readonly heads: HeadShard;

  constructor(params: Parameters, index: number, private readonly c: TextConfig, private readonly comm: Communicator) {
    const prefix = `model.layers.${index}`;
    this.inputNorm = new RMSNorm(params, `${prefix}.input_layernorm`, c.hiddenSize, c.rmsNormEps);
    this.postAttentionNorm = new RMSNorm(params, `${prefix}.post_attention_layernorm`, c.hiddenSize, c.rmsNormEps);
    const shape = { hidden: c.hiddenSize, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };
    this.heads = headShard(c.numHeads, c.numKvHeads, comm);
    // The decoder's projections take the weight quantization (FP8); norms, embeddings, the head and the vision tower stay float.
    this.qkv = new QKVProjection(params, `${prefix}.self_attn`, shape, { bias: true, separate: true, shard: this.heads, quantizable: true });
    const qSize = this.heads.heads * c.headDim;
    const oShard = comm.size > 1 ? { inputShard: { start: this.heads.headStart * c.headDim, extent: c.numHeads * c.headDim } } : {};
    this.o = new Linear(params, `${prefix}.self_attn.o_proj`, qSize, c.hiddenSize, { bias: false, quantizable: true, ...oShard });
    this.attention = new PagedSelfAttention(index, 1 / Math.sqrt(c.headDim));
    this.mlp = new GatedMLP(params, `${prefix}.mlp`, c.hiddenSize, c.intermediateSize, false, comm, true);
  }

  /**
   * Updates the residual stream h in place. x holds this layer's input norm of h on entry and `next`'s norm of the
   * updated h on return (the next layer's input, or the final norm's output): each residual add is fused with the
   * norm that follows it, and rotary with the KV store.
   */
  forward(h: Tensor, x: Tensor, rotary: RotaryTables, batch: AttentionBatch, next: RMSNorm): void {
    const attended = this.attend(this.qkv.fused(x), rotary, batch);
    // o_proj is row-parallel: each rank's heads give a partial sum of the output, summed over the ranks.
    const projected = this.o.forward(attended);
    this.comm.allReduceSum(projected);
    addRmsNorm(h, projected, this.postAttentionNorm.weight, this.postAttentionNorm.eps, x);
    addRmsNorm(h, this.mlp.forward(x), next.weight, next.eps, x);
  }

  /**
   * `forward` for a step whose products fuse their norm and residual add (a decode step's skinny products, one
   * group): the input norm is computed inside q|k|v's product, each add inside the product before it, so h alone
   * carries the stream and the layer's two addRmsNorm kernels become one rmsNorm (same values: the norms round as
   * addRmsNorm does).
   */
  forwardNormedProducts(h: Tensor, rotary: RotaryTables, batch: AttentionBatch): void {
    this.o.addForward(h, this.attend(this.qkv.fusedNormed(h, this.inputNorm), rotary, batch));
    this.mlp.addForwardNormed(h, this.postAttentionNorm);
  }

  /** Attention over this rank's heads from the fused q|k|v product [T, ...]: [T, heads * headDim], o_proj's input. */
  private attend(qkv: Tensor, rotary: RotaryTables, batch: AttentionBatch): Tensor {
    const numHeads = this.heads.heads;
    return this.attention.forwardRotated(qkv, numHeads, rotary, "neox", batch).view([qkv.shape[0], numHeads * this.c.headDim]);
  }
}

export class Qwen2_5_VL implements VisionLanguageModel {
  readonly parameters: Parameters;
  readonly positionRows = 3;
  readonly queryScales = null;
  readonly imageTokenId: number;
  readonly embeddingSize: number;
  private readonly vision: Qwen2_5_VisionTower;
  private readonly embed: Embedding;
  private readonly layers: DecoderLayer[];
  private readonly norm: RMSNorm;
  private readonly lmHead: LMHead;
  private readonly rotary: RotaryEmbedding;
  readonly kvHeads: number;
  private readonly normedProductsAllowed: boolean;

  /**
   * @param comm the tensor-parallel group this instance is one rank of: the decoder is sharded over it (heads, MLP
   *   intermediate, vocabulary); the vision tower is replicated (docs/tensor-parallel.md says why)
   */
  constructor(readonly config: Qwen2_5_VLConfig, device: Device, params: Parameters = new Parameters(device),
    comm: Communicator = new SoloCommunicator()) {
    const t = config.text;
    this.parameters = params;
    this.imageTokenId = config.tokens.image;
    this.embeddingSize = t.hiddenSize;
    this.vision = new Qwen2_5_VisionTower(params, config.vision);
    this.embed = new Embedding(params, "model.embed_tokens", t.vocabSize, t.hiddenSize, comm);
    this.layers = Array.from({ length: t.numLayers }, (_, i) => new DecoderLayer(params, i, t, comm));
    this.kvHeads = headShard(t.numHeads, t.numKvHeads, comm).kvHeads;
    // Where a step's products may take their norms and residual adds: one group (a rank's partial sums need their
    // all-reduce before the add) and float weights (FP8 products quantize their input: kernels/linear-fp8.ts).
    this.normedProductsAllowed = comm.size === 1 && params.quantization === null;
    this.norm = new RMSNorm(params, "model.norm", t.hiddenSize, t.rmsNormEps);
    this.lmHead = new LMHead(params, "lm_head.weight", t.tieWordEmbeddings ? "model.embed_tokens.weight" : null, t.vocabSize, t.hiddenSize, comm);
    if (t.rope.kind !== "mrope") throw new Error("unreachable: the config reader requires M-RoPE");
    // M-RoPE: frequency j rotates by the t, h or w position according to the section it falls in.
    this.rotary = new RotaryEmbedding(device, defaultInvFreq(t.headDim, t.ropeTheta), mropeSectionMap(t.rope.section));
  }

  encodeImages(input: VisionInput): Tensor {
    const grids = (input.imageGrids ?? []).map(([t, h, w]) => ({ t, h, w }));
    return this.vision.forward(input.pixelValues, grids);
  }

  forward(batch: ForwardBatch): Tensor {
    const h = this.embed.forward(batch.inputIds);
    if (batch.images) scatterRows(h, batch.images.rows, batch.images.embeddings);
    const rotary = this.rotary.tables(batch.positions);
    if (this.normedProductsAllowed && normedProductsFuse(h)) {
      this.layers.forEach((layer) => h.device.scratch(() => layer.forwardNormedProducts(h, rotary, batch.attention)));
      return this.lmHead.forward(this.norm.forward(gatherRows(h, batch.logitRows)));
    }
    const x = this.layers[0].inputNorm.forward(h);
    this.layers.forEach((layer, i) => h.device.scratch(() => layer.forward(h, x, rotary, batch.attention, this.layers[i + 1]?.inputNorm ?? this.norm)));
    // x holds the final norm of every row: the logit rows are gathered from it.
    return this.lmHead.forward(gatherRows(x, batch.logitRows));
  }
}
