/**
 * Llama 4 (model-facts B2-B4): the vision model's features projected into the text model and scattered over the
 * `<|patch|>` tokens, then a decoder of pre-norm layers. RoPE layers rotate q and k as interleaved complex pairs
 * with llama3-scaled frequencies, normalize them per head without gain and attend within chunks; NoPE layers
 * scale q by the attention temperature of the token's cache position and attend causally over everything. The
 * feed-forward is a top-1 sigmoid mixture of experts with a shared expert, or a dense SwiGLU MLP where the config
 * says so. A final norm and the (possibly tied) output head.
 */
import { PagedSelfAttention } from "../attention/paged-self-attention.js";
import type { AttentionBatch } from "../attention/attention-batch.js";
import type { Llama4Config, Llama4TextConfig } from "../checkpoint/llama4-config.js";
import { IrisError } from "../core/errors.js";
import { addRmsNorm } from "../kernels/add-rms-norm.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { scatterRows } from "../kernels/scatter-rows.js";
import { Embedding } from "../layers/embedding.js";
import { GatedMLP } from "../layers/gated-mlp.js";
import { Linear } from "../layers/linear.js";
import { LMHead } from "../layers/lm-head.js";
import { headShard, type HeadShard } from "../layers/tensor-parallel.js";
import { SoloCommunicator, type Communicator } from "../runtime/communicator.js";
import { QKVProjection } from "../layers/qkv-projection.js";
import { Top1SigmoidMoE } from "../layers/moe.js";
import { RMSNorm } from "../layers/norms.js";
import { Parameters } from "../layers/parameters.js";
import { RotaryEmbedding, type RotaryTables } from "../layers/rotary.js";
import { decoderInvFreq } from "../layers/rotary-frequencies.js";
import type { QkAfterRotary } from "../runtime/backend.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { attentionTemperatures } from "./llama4-temperature.js";
import { Llama4VisionModel, type StageObserver } from "./llama4-vision.js";
import type { ForwardBatch, VisionInput, VisionLanguageModel } from "./model.js";

/** What every layer of one forward pass shares besides the hidden states. */
interface StepContext {
  readonly rotary: RotaryTables;
  /** F32 [T]: the NoPE layers' query scale per token, or null without temperature tuning. */
  readonly queryScales: Tensor | null;
  readonly attention: AttentionBatch;
}

class DecoderLayer {
  readonly inputNorm: RMSNorm;
  private readonly postAttentionNorm: RMSNorm;
  private readonly qkv: QKVProjection;
  private readonly o: Linear;
  private readonly attention: PagedSelfAttention;
  private readonly feedForward: Top1SigmoidMoE | GatedMLP;
  private readonly useRope: boolean;
  /** This rank's attention heads (all of them in a group of one). */
  private readonly heads: HeadShard;

  constructor(params: Parameters, index: number, private readonly c: Llama4TextConfig, private readonly comm: Communicator) {
    const prefix = `language_model.model.layers.${index}`;
    this.heads = headShard(c.numHeads, c.numKvHeads, comm);
    const qSize = this.heads.heads * c.headDim;
    this.useRope = c.useRope[index];
    this.inputNorm = new RMSNorm(params, `${prefix}.input_layernorm`, c.hiddenSize, c.rmsNormEps);
    this.postAttentionNorm = new RMSNorm(params, `${prefix}.post_attention_layernorm`, c.hiddenSize, c.rmsNormEps);
    const shape = { hidden: c.hiddenSize, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };
    // The decoder's projections and experts take the weight quantization (FP8); the router, norms, embeddings, the
    // head and the vision model stay float.
    this.qkv = new QKVProjection(params, `${prefix}.self_attn`, shape, { bias: false, separate: true, shard: this.heads, quantizable: true });
    const oShard = comm.size > 1 ? { inputShard: { start: this.heads.headStart * c.headDim, extent: c.numHeads * c.headDim } } : {};
    this.o = new Linear(params, `${prefix}.self_attn.o_proj`, qSize, c.hiddenSize, { bias: false, quantizable: true, ...oShard });
    // Only RoPE layers are chunked ("chunked_attention"); NoPE layers see the whole context ("full_attention").
    const chunkSize = this.useRope ? c.attentionChunkSize : undefined;
    this.attention = new PagedSelfAttention(index, 1 / Math.sqrt(c.headDim), chunkSize);
    this.feedForward = c.isMoeLayer[index]
      ? new Top1SigmoidMoE(params, `${prefix}.feed_forward`, c.hiddenSize, c.expertIntermediateSize, c.numExperts, comm)
      : new GatedMLP(params, `${prefix}.feed_forward`, c.hiddenSize, c.mlpIntermediateSize, false, comm, true);
  }

  /**
   * Updates the residual stream h in place. x holds this layer's input norm of h on entry and `next`'s norm of the
   * updated h on return (the next layer's input, or the final norm's output): each residual add is fused with the
   * norm that follows it.
   */
  forward(h: Tensor, x: Tensor, step: StepContext, next: RMSNorm): void {
    const { headDim, rmsNormEps } = this.c;
    const numHeads = this.heads.heads;
    const T = h.shape[0];
    // RoPE layers rotate q and k, then (QK norm) RMS-normalize each head without a gain; NoPE layers leave them
    // unrotated and scale q by the attention temperature. One kernel with the cache store (rotaryStoreKV).
    const after: QkAfterRotary = this.useRope
      ? { qkNormEps: this.c.useQkNorm ? rmsNormEps : undefined }
      : { rotate: false, queryScales: step.queryScales ?? undefined };
    const attended = this.attention.forwardRotated(this.qkv.fused(x), numHeads, step.rotary, "interleaved", step.attention, after)
      .view([T, numHeads * headDim]);
    // o_proj is row-parallel: each rank's heads give a partial sum of the output, summed over the ranks.
    const projected = this.o.forward(attended);
    this.comm.allReduceSum(projected);
    addRmsNorm(h, projected, this.postAttentionNorm.weight, this.postAttentionNorm.eps, x);
    addRmsNorm(h, this.feedForward.forward(x), next.weight, next.eps, x);
  }
}

export class Llama4 implements VisionLanguageModel {
  readonly parameters: Parameters;
  readonly positionRows = 1;
  readonly imageTokenId: number;
  readonly embeddingSize: number;
  private readonly vision: Llama4VisionModel;
  private readonly projector: Linear;
  private readonly embed: Embedding;
  private readonly layers: DecoderLayer[];
  private readonly norm: RMSNorm;
  private readonly lmHead: LMHead;
  private readonly rotary: RotaryEmbedding;
  readonly kvHeads: number;
  /** The attention temperature of each token's cache position, when a NoPE layer scales its queries by it. */
  readonly queryScales: ((cachePositions: Int32Array, out: Float32Array) => void) | null;

  /**
   * @param params the collection the weights are declared in; a census (weight-footprint.ts) counts them without
   * allocating.
   * @param comm the tensor-parallel group this instance is one rank of: the decoder is sharded over it (heads,
   *   experts' and MLPs' intermediate, vocabulary; the router replicated); the vision model and projector are
   *   replicated (docs/tensor-parallel.md says why)
   */
  constructor(readonly config: Llama4Config, device: Device, params: Parameters = new Parameters(device),
    comm: Communicator = new SoloCommunicator()) {
    const t = config.text;
    if (t.expertsPerToken !== 1) {
      throw new IrisError("CONFIG_INVALID", `Llama 4 routes each token to one expert; num_experts_per_tok ${t.expertsPerToken} is not supported`);
    }
    if (t.rope.kind !== "llama3" && t.rope.kind !== "default") {
      throw new IrisError("CONFIG_INVALID", `Llama 4 takes default or llama3 rope scaling, got ${t.rope.kind}`);
    }
    this.parameters = params;
    this.imageTokenId = config.tokens.image;
    this.embeddingSize = t.hiddenSize;
    this.vision = new Llama4VisionModel(params, config.vision);
    // The reference builds the projector without a bias whatever `multi_modal_projector_bias` says.
    this.projector = new Linear(params, "multi_modal_projector.linear_1", config.vision.visionOutputDim, t.hiddenSize, { bias: false });
    this.embed = new Embedding(params, "language_model.model.embed_tokens", t.vocabSize, t.hiddenSize, comm);
    this.layers = Array.from({ length: t.numLayers }, (_, i) => new DecoderLayer(params, i, t, comm));
    this.kvHeads = headShard(t.numHeads, t.numKvHeads, comm).kvHeads;
    this.norm = new RMSNorm(params, "language_model.model.norm", t.hiddenSize, t.rmsNormEps);
    const tiedTo = t.tieWordEmbeddings ? "language_model.model.embed_tokens.weight" : null;
    this.lmHead = new LMHead(params, "language_model.lm_head.weight", tiedTo, t.vocabSize, t.hiddenSize, comm);
    this.rotary = new RotaryEmbedding(device, decoderInvFreq(t.headDim, t.ropeTheta, t.rope));
    const tunesTemperature = t.attnTemperatureTuning && t.useRope.some((rope) => !rope);
    this.queryScales = tunesTemperature
      ? (cachePositions, out) => attentionTemperatures(cachePositions, t.attnScale, t.floorScale, out)
      : null;
  }

  /** The vision model's output before the projector: [tiles * 144, vision_output_dim] (the reference's vision_features). */
  encodeImageFeatures(input: VisionInput, observe?: StageObserver): Tensor {
    return this.vision.forward(input.pixelValues, observe);
  }

  /** One embedding row per `<|patch|>` token: tiles in order, each tile's shuffled tokens row-major. */
  encodeImages(input: VisionInput, observe?: StageObserver): Tensor {
    const projected = this.projector.forward(this.encodeImageFeatures(input, observe));
    observe?.("projector", projected);
    return projected;
  }

  /**
   * @param observe receives `hidden_states.0` (the embeddings with the images placed) and `hidden_states.N`, the
   * output of layer N-1, over all tokens of the step (the reference trace's `text.*` keys).
   */
  forward(batch: ForwardBatch, observe?: StageObserver): Tensor {
    const h = this.embed.forward(batch.inputIds);
    if (batch.images) scatterRows(h, batch.images.rows, batch.images.embeddings);
    observe?.("hidden_states.0", h);
    if (this.queryScales !== null && batch.queryScales === null) {
      throw new IrisError("INTERNAL", "internal error: Llama 4 with attention temperature tuning needs the batch's query scales");
    }
    const step: StepContext = { rotary: this.rotary.tables(batch.positions), queryScales: batch.queryScales, attention: batch.attention };
    const x = this.layers[0].inputNorm.forward(h);
    this.layers.forEach((layer, i) => {
      h.device.scratch(() => layer.forward(h, x, step, this.layers[i + 1]?.inputNorm ?? this.norm));
      observe?.(`hidden_states.${i + 1}`, h);
    });
    // x holds the final norm of every row: the logit rows are gathered from it.
    return this.lmHead.forward(gatherRows(x, batch.logitRows));
  }
}
