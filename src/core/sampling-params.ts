/**
 * Sampling parameters as SGLang names them (camelCase here), with SGLang's defaults and validation rules.
 * A request's parameters are validated once, before it is queued, and a bad value fails that request alone.
 */
import { IrisError } from "./errors.js";
import { checkKeys, keysOf, type KeyPolicy } from "./option-keys.js";

export interface SamplingParams {
  /** Tokens to generate at most (SGLang's default: 128). */
  maxNewTokens?: number;
  /** Tokens that must be generated before a stop condition counts. */
  minNewTokens?: number;
  /** Stop strings: generation ends when the text contains one (trimmed from the output unless `noStopTrim`). */
  stop?: string | string[];
  stopTokenIds?: number[];
  /** 0 means greedy. */
  temperature?: number;
  topP?: number;
  /** -1 means the whole vocabulary. */
  topK?: number;
  minP?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  repetitionPenalty?: number;
  ignoreEos?: boolean;
  skipSpecialTokens?: boolean;
  noStopTrim?: boolean;
  /** Seeds this request's random draws, so sampling is reproducible (SGLang's `sampling_seed`). */
  samplingSeed?: number;
  /**
   * Parallel sampling: n samples of the prompt, prefilled once (the later samples reuse its KV pages through the
   * prefix cache), each with its own seed. A single prompt with n > 1 returns a list of n results.
   */
  n?: number;
  /**
   * Structured output (at most one of the three): the output must match a JSON schema (given as its JSON text, as
   * SGLang's `json_schema`), a regular expression, or an EBNF grammar (XGrammar's dialect, root rule `root`).
   * Generation ends when the grammar is complete: the end-of-sequence token is allowed only then.
   */
  jsonSchema?: string;
  regex?: string;
  ebnf?: string;
}

/** Which structured-output constraint a request carries, and its text. */
export interface GrammarSpec {
  readonly kind: "jsonSchema" | "regex" | "ebnf";
  readonly text: string;
}

/** Parameters with every default filled in, as the scheduler and sampler use them. */
export interface ResolvedSamplingParams {
  readonly maxNewTokens: number;
  readonly minNewTokens: number;
  readonly stop: readonly string[];
  readonly stopTokenIds: readonly number[];
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly repetitionPenalty: number;
  readonly ignoreEos: boolean;
  readonly skipSpecialTokens: boolean;
  readonly noStopTrim: boolean;
  readonly seed: number | undefined;
  /** The structured-output constraint, or null. */
  readonly grammar: GrammarSpec | null;
  /** True when sampling reduces to argmax (temperature 0 or top-k 1). */
  readonly greedy: boolean;
}

/** SGLang's value for "no top-k limit". */
export const TOP_K_ALL = 1 << 30;
export const DEFAULT_MAX_NEW_TOKENS = 128;
/** Temperatures below this are greedy, as in SGLang. */
const GREEDY_TEMPERATURE = 1e-6;

const NOT_YET = "not implemented in Iris yet (issue 13)";
const SAMPLING_KEYS: KeyPolicy = {
  what: "sampling parameter",
  known: keysOf<SamplingParams>()({
    maxNewTokens: true, minNewTokens: true, stop: true, stopTokenIds: true, temperature: true, topP: true, topK: true,
    minP: true, frequencyPenalty: true, presencePenalty: true, repetitionPenalty: true, ignoreEos: true,
    skipSpecialTokens: true, noStopTrim: true, samplingSeed: true, n: true, jsonSchema: true, regex: true, ebnf: true,
  }),
  refused: {
    structuralTag: `structural tags are ${NOT_YET}; jsonSchema, regex and ebnf are supported`,
    stopRegex: "stops are strings (stop) or token ids (stopTokenIds); regular expressions are not supported",
    logitBias: `logit bias is ${NOT_YET}`,
    customParams: "Iris has no custom logit processors",
    streamInterval: "generateStream yields every new piece of text as it is decoded",
    spacesBetweenSpecialTokens: "special tokens are decoded as the tokenizer joins them; this is not configurable",
  },
  renamed: { seed: "samplingSeed", maxTokens: "maxNewTokens" },
};

function fail(message: string): never {
  throw new IrisError("INVALID_ARGUMENT", message);
}

function numberOr(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) fail(`${name} must be a number, got ${JSON.stringify(value)}.`);
  return value;
}

function booleanOr(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") fail(`${name} must be true or false, got ${JSON.stringify(value)}.`);
  return value;
}

/**
 * Fills in defaults and checks every value with SGLang's rules (`SamplingParams.verify`), against the model's
 * vocabulary size for token ids. Throws INVALID_ARGUMENT naming the parameter and the allowed range.
 */
export function resolveSamplingParams(params: SamplingParams | undefined, vocabSize: number): ResolvedSamplingParams {
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p !== "object" || Array.isArray(p)) fail(`samplingParams must be an object, got ${JSON.stringify(params)}.`);
  checkKeys(p, SAMPLING_KEYS);
  const maxNewTokens = numberOr(p.maxNewTokens, "maxNewTokens", DEFAULT_MAX_NEW_TOKENS);
  const minNewTokens = numberOr(p.minNewTokens, "minNewTokens", 0);
  let temperature = numberOr(p.temperature, "temperature", 1.0);
  const topP = numberOr(p.topP, "topP", 1.0);
  let topK = numberOr(p.topK, "topK", TOP_K_ALL);
  const minP = numberOr(p.minP, "minP", 0.0);
  const frequencyPenalty = numberOr(p.frequencyPenalty, "frequencyPenalty", 0.0);
  const presencePenalty = numberOr(p.presencePenalty, "presencePenalty", 0.0);
  const repetitionPenalty = numberOr(p.repetitionPenalty, "repetitionPenalty", 1.0);

  if (!(temperature >= 0) || !Number.isFinite(temperature)) fail(`temperature must be a non-negative finite number, got ${temperature}.`);
  if (!(topP > 0 && topP <= 1)) fail(`topP must be in (0, 1], got ${topP}.`);
  if (!(minP >= 0 && minP <= 1)) fail(`minP must be in [0, 1], got ${minP}.`);
  if (!Number.isInteger(topK) || !(topK === -1 || topK >= 1)) fail(`topK must be -1 (disable) or at least 1, got ${topK}.`);
  if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) fail(`frequencyPenalty must be in [-2, 2], got ${frequencyPenalty}.`);
  if (!(presencePenalty >= -2 && presencePenalty <= 2)) fail(`presencePenalty must be in [-2, 2], got ${presencePenalty}.`);
  if (!(repetitionPenalty > 0 && repetitionPenalty <= 2)) fail(`repetitionPenalty must be in (0, 2] (1.0 = no penalty), got ${repetitionPenalty}.`);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) fail(`maxNewTokens must be an integer of at least 0, got ${maxNewTokens}.`);
  if (!Number.isInteger(minNewTokens) || minNewTokens < 0 || minNewTokens > maxNewTokens) {
    fail(`minNewTokens must be in [0, maxNewTokens], got ${minNewTokens}.`);
  }

  const stop = p.stop === undefined || p.stop === null ? [] : typeof p.stop === "string" ? [p.stop] : p.stop;
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === "string")) fail(`stop must be a string or a list of strings, got ${JSON.stringify(p.stop)}.`);
  if (stop.some((s) => s.length === 0)) fail("stop strings must not be empty.");
  const stopTokenIds = (p.stopTokenIds ?? []) as unknown;
  if (!Array.isArray(stopTokenIds) || !stopTokenIds.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize)) {
    fail(`stopTokenIds must be a list of token ids in [0, ${vocabSize - 1}], got ${JSON.stringify(p.stopTokenIds)}.`);
  }
  const seed = p.samplingSeed === undefined || p.samplingSeed === null ? undefined : numberOr(p.samplingSeed, "samplingSeed", 0);
  if (seed !== undefined && !Number.isSafeInteger(seed)) fail(`samplingSeed must be an integer, got ${seed}.`);
  parallelSampleCount(params);
  const grammar = grammarSpec(p);
  // A constrained output ends with the end-of-sequence token once the grammar is complete; there is nothing after it.
  if (grammar !== null && p.ignoreEos === true) fail(`ignoreEos cannot be combined with ${grammar.kind}: the output ends when the grammar is complete.`);

  if (topK === -1) topK = TOP_K_ALL;
  const greedy = temperature < GREEDY_TEMPERATURE || topK === 1;
  // SGLang turns a near-zero temperature into top-k 1 at temperature 1, so nothing divides by zero.
  if (temperature < GREEDY_TEMPERATURE) {
    temperature = 1.0;
    topK = 1;
  }
  return Object.freeze({
    maxNewTokens, minNewTokens, stop: Object.freeze([...stop]), stopTokenIds: Object.freeze([...stopTokenIds]),
    temperature, topP, topK, minP, frequencyPenalty, presencePenalty, repetitionPenalty,
    ignoreEos: booleanOr(p.ignoreEos, "ignoreEos", false),
    skipSpecialTokens: booleanOr(p.skipSpecialTokens, "skipSpecialTokens", true),
    noStopTrim: booleanOr(p.noStopTrim, "noStopTrim", false),
    seed, grammar, greedy,
  });
}

/** The one structured-output constraint of a request's parameters (null when none), checked: a non-empty string. */
function grammarSpec(p: Record<string, unknown>): GrammarSpec | null {
  const given = (["jsonSchema", "regex", "ebnf"] as const).filter((kind) => p[kind] !== undefined && p[kind] !== null);
  if (given.length === 0) return null;
  if (given.length > 1) fail(`only one of jsonSchema, regex and ebnf may be given, got ${given.join(" and ")}.`);
  const kind = given[0];
  const text = p[kind];
  // SGLang takes the schema as JSON text; an object is the common slip, so the message says how to pass it.
  if (kind === "jsonSchema" && typeof text === "object") fail("jsonSchema must be the schema's JSON text (JSON.stringify(schema)), got an object.");
  if (typeof text !== "string" || text.length === 0) fail(`${kind} must be a non-empty string, got ${JSON.stringify(text)}.`);
  return Object.freeze({ kind, text });
}

/** The `n` of one request's parameters (1 when absent), checked: a positive integer. */
export function parallelSampleCount(params: SamplingParams | undefined): number {
  const n = numberOr((params as Record<string, unknown> | undefined)?.n, "n", 1);
  if (!Number.isInteger(n) || n < 1) fail(`n must be an integer of at least 1, got ${n}.`);
  return n;
}
