/** Qwen2.5-VL's config in both layouts (model-facts A4): text fields at the top level (Hub) or in `text_config`. */
import { IrisError } from "../core/errors.js";
import type { JsonFields } from "./json-fields.js";
import { checkPositive, readDecoderBase, type DecoderConfig } from "./decoder-config.js";

export interface QwenVisionConfig {
  readonly depth: number;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly outHiddenSize: number;
  readonly patchSize: number;
  readonly spatialMergeSize: number;
  readonly temporalPatchSize: number;
  readonly windowSize: number;
  /** Blocks that attend over the whole image; all others attend within windows. */
  readonly fullAttentionBlocks: readonly number[];
  readonly inChannels: number;
  readonly tokensPerSecond: number;
  readonly hiddenAct: string;
  readonly ropeTheta: number;
}

export interface Qwen2_5_VLConfig {
  readonly family: "qwen2_5_vl";
  readonly architecture: "Qwen2_5_VLForConditionalGeneration";
  readonly dtype: string;
  readonly text: DecoderConfig;
  readonly vision: QwenVisionConfig;
  readonly tokens: {
    readonly image: number;
    readonly video: number;
    readonly visionStart: number;
    readonly visionEnd: number;
  };
}

export function readQwen2_5_VLConfig(root: JsonFields): Qwen2_5_VLConfig {
  const text = root.section("text_config") ?? root;
  const visionFields = root.section("vision_config");
  if (!visionFields) throw new IrisError("CONFIG_INVALID", `${root.where}: "vision_config" is missing`);
  const base = readDecoderBase(text, root);
  if (base.rope.kind !== "mrope") {
    throw new IrisError("CONFIG_INVALID", `${text.where}: Qwen2.5-VL needs M-RoPE ("mrope_section" in the rope settings)`);
  }
  const sectionSum = base.rope.section.reduce((a, b) => a + b, 0);
  if (sectionSum * 2 !== base.headDim) {
    throw new IrisError("CONFIG_INVALID", `${text.where}: mrope_section sums to ${sectionSum}, expected head_dim/2 = ${base.headDim / 2}`);
  }
  const textConfig: DecoderConfig = { ...base, intermediateSize: text.int("intermediate_size") };
  const vision = readVision(visionFields);
  checkPositive(text.where, { hiddenSize: base.hiddenSize, numLayers: base.numLayers, vocabSize: base.vocabSize });
  return {
    family: "qwen2_5_vl",
    architecture: "Qwen2_5_VLForConditionalGeneration",
    dtype: root.has("dtype") ? root.str("dtype") : root.str("torch_dtype", "bfloat16"),
    text: textConfig,
    vision,
    tokens: {
      image: root.int("image_token_id", 151655),
      video: root.int("video_token_id", 151656),
      visionStart: root.int("vision_start_token_id", 151652),
      visionEnd: root.int("vision_end_token_id", 151653),
    },
  };
}

function readVision(v: JsonFields): QwenVisionConfig {
  const hiddenSize = v.int("hidden_size");
  const numHeads = v.int("num_heads");
  const depth = v.int("depth");
  const fullAttentionBlocks = v.ints("fullatt_block_indexes", []);
  for (const block of fullAttentionBlocks) {
    if (block < 0 || block >= depth) throw new IrisError("CONFIG_INVALID", `${v.where}: fullatt_block_indexes has ${block}, outside 0..${depth - 1}`);
  }
  if (hiddenSize % numHeads !== 0) throw new IrisError("CONFIG_INVALID", `${v.where}: hidden_size ${hiddenSize} is not a multiple of num_heads ${numHeads}`);
  const rope = v.section("rope_parameters");
  return {
    depth,
    hiddenSize,
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: v.int("intermediate_size"),
    outHiddenSize: v.int("out_hidden_size"),
    patchSize: v.int("patch_size", 14),
    spatialMergeSize: v.int("spatial_merge_size", 2),
    temporalPatchSize: v.int("temporal_patch_size", 2),
    windowSize: v.int("window_size", 112),
    fullAttentionBlocks,
    inChannels: v.has("in_channels") ? v.int("in_channels") : v.int("in_chans", 3),
    tokensPerSecond: v.int("tokens_per_second", 2),
    hiddenAct: v.str("hidden_act", "silu"),
    ropeTheta: rope?.num("rope_theta") ?? 10000,
  };
}
