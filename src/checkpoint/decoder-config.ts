/** The fields every decoder-only text model has, read the same way from either config layout. */
import { IrisError } from "../core/errors.js";
import type { JsonFields } from "./json-fields.js";

/** How the decoder's rotary angles are formed. */
export type RopeScaling =
  | { readonly kind: "default" }
  | { readonly kind: "mrope"; readonly section: readonly [number, number, number] }
  | {
      readonly kind: "llama3";
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/** What every decoder-only text model has. */
export interface DecoderConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly maxPositionEmbeddings: number;
  readonly ropeTheta: number;
  readonly rope: RopeScaling;
  readonly tieWordEmbeddings: boolean;
  readonly hiddenAct: string;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;
}

/** Reads the decoder's rope settings from either layout: `rope_theta` + `rope_scaling`, or `rope_parameters`. */
export function readRope(text: JsonFields): { ropeTheta: number; rope: RopeScaling } {
  const params = text.section("rope_parameters") ?? text.section("rope_scaling");
  const ropeTheta = text.has("rope_theta") ? text.num("rope_theta") : (params?.num("rope_theta") ?? 10000);
  if (!params) return { ropeTheta, rope: { kind: "default" } };
  if (params.has("mrope_section")) {
    const section = params.ints("mrope_section");
    if (section.length !== 3) throw new IrisError("CONFIG_INVALID", `${params.where}: mrope_section must have 3 entries`);
    return { ropeTheta, rope: { kind: "mrope", section: [section[0], section[1], section[2]] } };
  }
  const type = params.has("rope_type") ? params.str("rope_type") : params.has("type") ? params.str("type") : "default";
  if (type === "default") return { ropeTheta, rope: { kind: "default" } };
  if (type === "llama3") {
    return {
      ropeTheta,
      rope: {
        kind: "llama3",
        factor: params.num("factor"),
        lowFreqFactor: params.num("low_freq_factor"),
        highFreqFactor: params.num("high_freq_factor"),
        originalMaxPositionEmbeddings: params.int("original_max_position_embeddings"),
      },
    };
  }
  throw new IrisError("CONFIG_INVALID", `${params.where}: rope type ${type} is not supported (default, mrope, llama3)`);
}

/** The fields of `DecoderConfig` that every family reads the same way. */
export function readDecoderBase(text: JsonFields, root: JsonFields): Omit<DecoderConfig, "intermediateSize"> {
  const hiddenSize = text.int("hidden_size");
  const numHeads = text.int("num_attention_heads");
  if (hiddenSize % numHeads !== 0 && !text.has("head_dim")) {
    throw new IrisError("CONFIG_INVALID", `${text.where}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  const numKvHeads = text.int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new IrisError("CONFIG_INVALID", `${text.where}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const maxPositionEmbeddings = text.int("max_position_embeddings");
  checkPositive(text.where, { max_position_embeddings: maxPositionEmbeddings });
  const tie = root.has("tie_word_embeddings") ? root.bool("tie_word_embeddings") : text.bool("tie_word_embeddings", false);
  return {
    hiddenSize,
    numLayers: text.int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim: text.has("head_dim") ? text.int("head_dim") : hiddenSize / numHeads,
    vocabSize: text.int("vocab_size"),
    rmsNormEps: text.num("rms_norm_eps"),
    maxPositionEmbeddings,
    ...readRope(text),
    tieWordEmbeddings: tie,
    hiddenAct: text.str("hidden_act", "silu"),
    bosTokenId: optionalInt(text, "bos_token_id") ?? optionalInt(root, "bos_token_id"),
    eosTokenIds: text.has("eos_token_id") ? text.intList("eos_token_id") : root.intList("eos_token_id", []),
    padTokenId: optionalInt(text, "pad_token_id") ?? optionalInt(root, "pad_token_id"),
  };
}

export function optionalInt(fields: JsonFields, key: string): number | undefined {
  return fields.has(key) ? fields.int(key) : undefined;
}

export function checkPositive(where: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!(value > 0)) throw new IrisError("CONFIG_INVALID", `${where}: ${name} must be positive, got ${value}`);
  }
}

/** Bytes of KV cache one token takes over all layers (K and V), at `bytesPerElement`. */
export function kvBytesPerToken(text: DecoderConfig, bytesPerElement: number): number {
  return 2 * text.numLayers * text.numKvHeads * text.headDim * bytesPerElement;
}
