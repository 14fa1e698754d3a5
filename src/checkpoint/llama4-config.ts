/** Llama 4's config in both layouts (model-facts B4): `rope_scaling` + `rope_theta` (Hub) or `rope_parameters`. */
import { IrisError } from "../core/errors.js";
import type { JsonFields } from "./json-fields.js";
import { checkPositive, optionalInt, readDecoderBase, type DecoderConfig } from "./decoder-config.js";

export interface Llama4TextConfig extends DecoderConfig {
  readonly numExperts: number;
  readonly expertsPerToken: number;
  /** Width of the routed experts and of the shared expert (`intermediate_size`). */
  readonly expertIntermediateSize: number;
  /** Width of the dense MLP of layers that are not MoE (`intermediate_size_mlp`). */
  readonly mlpIntermediateSize: number;
  /** Per layer: whether its feed-forward is a mixture of experts. */
  readonly isMoeLayer: readonly boolean[];
  /** Per layer: whether it applies RoPE (then also QK norm and chunked attention) or is a NoPE layer. */
  readonly useRope: readonly boolean[];
  readonly attentionChunkSize: number | undefined;
  readonly useQkNorm: boolean;
  readonly attnTemperatureTuning: boolean;
  readonly floorScale: number;
  readonly attnScale: number;
}

export interface Llama4VisionConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  readonly pixelShuffleRatio: number;
  readonly projectorInputDim: number;
  readonly projectorOutputDim: number;
  readonly visionOutputDim: number;
  readonly multiModalProjectorBias: boolean;
}

export interface Llama4Config {
  readonly family: "llama4";
  readonly architecture: "Llama4ForConditionalGeneration";
  readonly dtype: string;
  readonly text: Llama4TextConfig;
  readonly vision: Llama4VisionConfig;
  readonly tokens: {
    /** `<|patch|>`: the positions that receive image embeddings (`image_token_index`). */
    readonly image: number;
    readonly imageStart: number;
    readonly imageEnd: number;
  };
}

export function readLlama4Config(root: JsonFields): Llama4Config {
  const text = root.section("text_config");
  const vision = root.section("vision_config");
  if (!text || !vision) throw new IrisError("CONFIG_INVALID", `${root.where}: Llama 4 needs "text_config" and "vision_config"`);
  const base = readDecoderBase(text, root);
  const numLayers = base.numLayers;
  const step = text.int("interleave_moe_layer_step", 1);
  const moeLayers = text.has("moe_layers")
    ? text.ints("moe_layers")
    : Array.from({ length: numLayers }, (_, i) => i).filter((i) => (i + 1) % step === 0);
  const interval = text.int("no_rope_layer_interval", 4);
  let noRope = text.ints("no_rope_layers", []);
  if (noRope.length === 0) noRope = Array.from({ length: numLayers }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));
  if (noRope.length !== numLayers) {
    throw new IrisError("CONFIG_INVALID", `${text.where}: no_rope_layers has ${noRope.length} entries for ${numLayers} layers`);
  }
  const tuning = text.json.attn_temperature_tuning;
  checkPositive(text.where, { hiddenSize: base.hiddenSize, numLayers, vocabSize: base.vocabSize });
  const visionHidden = vision.int("hidden_size");
  const visionHeads = vision.int("num_attention_heads");
  const visionRope = vision.section("rope_parameters");
  return {
    family: "llama4",
    architecture: "Llama4ForConditionalGeneration",
    dtype: root.has("dtype") ? root.str("dtype") : root.str("torch_dtype", "bfloat16"),
    text: {
      ...base,
      intermediateSize: text.int("intermediate_size"),
      numExperts: text.int("num_local_experts"),
      expertsPerToken: text.int("num_experts_per_tok", 1),
      expertIntermediateSize: text.int("intermediate_size"),
      mlpIntermediateSize: text.int("intermediate_size_mlp"),
      isMoeLayer: Array.from({ length: numLayers }, (_, i) => moeLayers.includes(i)),
      // NOTE: 1 in `no_rope_layers` means the layer USES rope; the name reads the other way round.
      useRope: noRope.map((flag) => flag !== 0),
      attentionChunkSize: optionalInt(text, "attention_chunk_size"),
      useQkNorm: text.bool("use_qk_norm", true),
      // Serialized as a boolean or as a number (4 in some Scout configs): any truthy value turns it on.
      attnTemperatureTuning: Boolean(tuning ?? true),
      floorScale: text.num("floor_scale", 8192),
      attnScale: text.num("attn_scale", 0.1),
    },
    vision: {
      hiddenSize: visionHidden,
      numLayers: vision.int("num_hidden_layers"),
      numHeads: visionHeads,
      headDim: visionHidden / visionHeads,
      intermediateSize: vision.int("intermediate_size"),
      imageSize: vision.int("image_size"),
      patchSize: vision.int("patch_size"),
      numChannels: vision.int("num_channels", 3),
      normEps: vision.num("norm_eps", 1e-5),
      ropeTheta: visionRope?.num("rope_theta") ?? vision.num("rope_theta", 10000),
      pixelShuffleRatio: vision.num("pixel_shuffle_ratio"),
      projectorInputDim: vision.int("projector_input_dim"),
      projectorOutputDim: vision.int("projector_output_dim"),
      visionOutputDim: vision.int("vision_output_dim"),
      multiModalProjectorBias: vision.bool("multi_modal_projector_bias", false),
    },
    tokens: {
      image: root.int("image_token_index"),
      imageStart: root.int("boi_token_index"),
      imageEnd: root.int("eoi_token_index"),
    },
  };
}
