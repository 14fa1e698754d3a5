/**
 * Llama 4's vision model (model-facts B2), up to the vision adapter: unfold patch embedding, the class token
 * appended last, learned positions, pre-norm encoder layers with 2-D complex rotary inside each tile, the class
 * token dropped, pixel shuffle and the adapter MLP. The projector into the text model lives in llama4.ts. Row
 * orders (unfold, class token, shuffle) come from llama4-vision-layout.ts and run as `gatherRows` on the device.
 */
import { IrisError } from "../core/errors.js";
import type { Llama4VisionConfig } from "../checkpoint/llama4-config.js";
import { add, addInPlace } from "../kernels/add.js";
import { rotaryAttentionQKV } from "../kernels/rotary-attention-qkv.js";
import { concatRows } from "../kernels/concat-rows.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { gelu } from "../kernels/gelu.js";
import { Linear } from "../layers/linear.js";
import { QKVProjection } from "../layers/qkv-projection.js";
import { LayerNorm } from "../layers/norms.js";
import type { Parameters } from "../layers/parameters.js";
import { RotaryEmbedding, type RotaryTables } from "../layers/rotary.js";
import { defaultInvFreq } from "../layers/rotary-frequencies.js";
import type { Segments } from "../runtime/backend.js";
import { fromHost } from "../runtime/creation.js";
import type { Tensor } from "../runtime/tensor.js";
import { llama4VisionLayout, type Llama4VisionGeometry } from "./llama4-vision-layout.js";

/** Receives intermediate activations by stage name (the reference trace's `vision.*` keys), for parity tests. */
export type StageObserver = (stage: string, x: Tensor) => void;

class VisionEncoderLayer {
  private readonly inputNorm: LayerNorm;
  private readonly postAttentionNorm: LayerNorm;
  private readonly qkv: QKVProjection;
  private readonly o: Linear;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(params: Parameters, prefix: string, private readonly c: Llama4VisionConfig) {
    const H = c.hiddenSize;
    this.inputNorm = new LayerNorm(params, `${prefix}.input_layernorm`, H, c.normEps);
    this.postAttentionNorm = new LayerNorm(params, `${prefix}.post_attention_layernorm`, H, c.normEps);
    const shape = { hidden: H, numHeads: c.numHeads, numKvHeads: c.numHeads, headDim: c.headDim };
    this.qkv = new QKVProjection(params, `${prefix}.self_attn`, shape, { bias: true, separate: true });
    this.o = new Linear(params, `${prefix}.self_attn.o_proj`, H, H, { bias: true });
    this.fc1 = new Linear(params, `${prefix}.mlp.fc1`, H, c.intermediateSize, { bias: true });
    this.fc2 = new Linear(params, `${prefix}.mlp.fc2`, c.intermediateSize, H, { bias: true });
  }

  /** Updates the residual stream x in place. */
  forward(x: Tensor, rotary: RotaryTables, tiles: Segments): void {
    const { hiddenSize: H, headDim } = this.c;
    const N = x.shape[0];
    const qkv = this.qkv.fusedHeads(this.inputNorm.forward(x));
    const attended = rotaryAttentionQKV(qkv, this.qkv.heads.numKvHeads, rotary.cos, rotary.sin, "interleaved", tiles,
      { scale: 1 / Math.sqrt(headDim), causal: false });
    addInPlace(x, this.o.forward(attended.view([N, H])));
    addInPlace(x, this.fc2.forward(gelu(this.fc1.forward(this.postAttentionNorm.forward(x)))));
  }
}

export class Llama4VisionModel {
  private readonly patchEmbedding: Linear;
  private readonly classEmbedding: Tensor;
  private readonly positionalEmbedding: Tensor;
  private readonly layernormPre: LayerNorm;
  private readonly layers: VisionEncoderLayer[];
  private readonly layernormPost: LayerNorm;
  private readonly adapterFc1: Linear;
  private readonly adapterFc2: Linear;
  private readonly rotary: RotaryEmbedding;
  private readonly geometry: Llama4VisionGeometry;
  /** Output width: vision_output_dim (the projector's input). */
  readonly outputDim: number;

  constructor(private readonly params: Parameters, private readonly c: Llama4VisionConfig) {
    const H = c.hiddenSize;
    const gridSide = c.imageSize / c.patchSize;
    const merge = Math.round(1 / c.pixelShuffleRatio);
    if (!Number.isInteger(gridSide) || gridSide % merge !== 0 || Math.abs(merge * c.pixelShuffleRatio - 1) > 1e-9) {
      throw new IrisError("CONFIG_INVALID", `Llama 4 vision: image_size ${c.imageSize}, patch_size ${c.patchSize} and pixel_shuffle_ratio ${c.pixelShuffleRatio} do not tile`);
    }
    this.geometry = { gridSide, patchSize: c.patchSize, numChannels: c.numChannels, merge };
    const patchDim = c.numChannels * c.patchSize * c.patchSize;
    // nn.Unfold + Linear: the weight's columns follow the unfold order c * patch² + ky * patch + kx.
    this.patchEmbedding = new Linear(params, "vision_model.patch_embedding.linear", patchDim, H, { bias: false });
    this.classEmbedding = params.add("vision_model.class_embedding", [H]);
    this.positionalEmbedding = params.add("vision_model.positional_embedding_vlm", [gridSide * gridSide + 1, H]);
    this.layernormPre = new LayerNorm(params, "vision_model.layernorm_pre", H, c.normEps);
    this.layers = Array.from({ length: c.numLayers }, (_, i) => new VisionEncoderLayer(params, `vision_model.model.layers.${i}`, c));
    this.layernormPost = new LayerNorm(params, "vision_model.layernorm_post", H, c.normEps);
    // The adapter's input is the shuffled width merge² * H, which the reference declares as intermediate_size.
    this.adapterFc1 = new Linear(params, "vision_model.vision_adapter.mlp.fc1", H * merge * merge, c.projectorInputDim, { bias: false });
    this.adapterFc2 = new Linear(params, "vision_model.vision_adapter.mlp.fc2", c.projectorOutputDim, c.projectorOutputDim, { bias: false });
    this.outputDim = c.projectorOutputDim;
    // Per head: head_dim/4 frequencies rotate by the patch column, the next head_dim/4 by its row (model-facts B2.6).
    const half = defaultInvFreq(c.headDim / 2, c.ropeTheta);
    const invFreq = Float32Array.from([...half, ...half]);
    const section = Int32Array.from([...half.map(() => 0), ...half.map(() => 1)]);
    this.rotary = new RotaryEmbedding(params.device, invFreq, section);
  }

  /** pixelValues [tiles, channels, size, size] → [tiles * shuffled tokens, vision_output_dim], tiles in order. */
  forward(pixelValues: Tensor, observe?: StageObserver): Tensor {
    const c = this.c;
    const { gridSide, patchSize, numChannels, merge } = this.geometry;
    const expected = [numChannels, c.imageSize, c.imageSize];
    if (pixelValues.rank !== 4 || expected.some((d, i) => pixelValues.shape[i + 1] !== d)) {
      throw new IrisError("INVALID_ARGUMENT", `Llama 4 pixel values must be [tiles, ${expected.join(", ")}], got [${pixelValues.shape.join(", ")}]`);
    }
    const tiles = pixelValues.shape[0];
    const H = c.hiddenSize;
    const patches = gridSide * gridSide;
    const layout = llama4VisionLayout(tiles, this.geometry);
    const upload = (data: Int32Array, shape?: number[]) => fromHost(this.params.device, data, { dtype: "I32", shape });

    const pixelRows = pixelValues.view([-1, patchSize]);
    const unfolded = gatherRows(pixelRows, upload(layout.unfoldRows)).view([tiles * patches, numChannels * patchSize * patchSize]);
    const embedded = this.patchEmbedding.forward(unfolded);
    observe?.("patch_embedding", embedded);
    const withClass = gatherRows(concatRows([embedded, this.classEmbedding.view([1, H])]), upload(layout.tokenOrder));
    const positioned = add(withClass.view([tiles, layout.tokensPerTile, H]), this.positionalEmbedding);
    const x = this.layernormPre.forward(positioned).view([tiles * layout.tokensPerTile, H]);
    observe?.("layernorm_pre", x);

    const rotary = this.rotary.tables(upload(layout.rotaryPositions, [tiles * layout.tokensPerTile, 2]));
    const tileSegments: Segments = { cuSeqlens: upload(layout.cuTileSeqlens), maxSeqLen: layout.tokensPerTile };
    this.layers.forEach((layer, i) => {
      x.device.scratch(() => layer.forward(x, rotary, tileSegments));
      observe?.(`layers.${i}`, x);
    });
    const normed = this.layernormPost.forward(x);
    observe?.("layernorm_post", normed);

    // One gather drops each tile's class token and pixel-shuffles its patches (merge² rows become one token).
    const shuffled = gatherRows(normed, upload(layout.shuffleRows)).view([tiles * patches / (merge * merge), merge * merge * H]);
    // The adapter activates its output too: GELU after both layers.
    const adapted = gelu(this.adapterFc2.forward(gelu(this.adapterFc1.forward(shuffled))));
    observe?.("vision_adapter", adapted);
    return adapted;
  }
}
