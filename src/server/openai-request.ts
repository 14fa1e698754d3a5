/**
 * OpenAI request bodies (chat and completions) to the engine's sampling parameters and logprob options. Field names
 * are strict, as in the engine: an unknown field is a 400 that names it, and fields Iris does not implement (tools,
 * logit_bias) are refused with the reason rather than ignored. SGLang's extra sampling fields (`top_k`, `min_p`,
 * `repetition_penalty`, `regex`, `ebnf`, ...) are accepted as SGLang's server accepts them.
 */
import { IrisError } from "../core/errors.js";
import { resolveSamplingParams, type SamplingParams } from "../core/sampling-params.js";
import { badRequest } from "./http-errors.js";
import { checkResponseFormat } from "./response-format.js";

/** OpenAI (and SGLang extension) field -> sampling parameter. */
const SAMPLING_FIELDS: Record<string, keyof SamplingParams> = {
  temperature: "temperature", top_p: "topP", n: "n", stop: "stop", seed: "samplingSeed",
  frequency_penalty: "frequencyPenalty", presence_penalty: "presencePenalty",
  top_k: "topK", min_p: "minP", repetition_penalty: "repetitionPenalty", min_tokens: "minNewTokens",
  ignore_eos: "ignoreEos", stop_token_ids: "stopTokenIds", skip_special_tokens: "skipSpecialTokens", no_stop_trim: "noStopTrim",
  regex: "regex", ebnf: "ebnf",
};

/** Accepted and without effect here. */
const IGNORED = new Set(["user", "service_tier", "store", "metadata", "parallel_tool_calls"]);

const REFUSED: Record<string, string> = {
  tools: "tool calling is not supported by Iris's server",
  tool_choice: "tool calling is not supported by Iris's server",
  functions: "function calling is not supported by Iris's server",
  function_call: "function calling is not supported by Iris's server",
  logit_bias: "logit_bias is not implemented in Iris yet",
  audio: "Iris generates text only",
  modalities: "Iris generates text only",
  prediction: "predicted outputs are not supported",
  reasoning_effort: "the served models have no reasoning modes",
  best_of: "best_of is not supported; use n",
  suffix: "suffix (insertion) is not supported",
  echo: "echo is not supported",
};

export interface GenerationPlan {
  readonly samplingParams: SamplingParams;
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** Top logprobs per token when logprobs are asked (0: the chosen token's only); undefined: none. */
  readonly topLogprobs: number | undefined;
  readonly model: string | undefined;
}

type Body = Record<string, unknown>;

export function asBody(body: unknown): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  return body as Body;
}

/** `/v1/chat/completions`: everything but the messages. */
export function chatPlan(body: Body, vocabSize: number): GenerationPlan {
  checkFields(body, ["messages", "max_tokens", "max_completion_tokens", "logprobs", "top_logprobs", "response_format"]);
  const structured = checkResponseFormat(body.response_format);
  let topLogprobs: number | undefined;
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) {
    if (body.logprobs !== true) throw badRequest("top_logprobs needs logprobs: true", "top_logprobs");
    topLogprobs = integerIn(body.top_logprobs, "top_logprobs", 0, 20);
  }
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "boolean") throw badRequest("logprobs must be true or false", "logprobs");
  if (body.logprobs === true) topLogprobs ??= 0;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const maxTokensName = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
  return plan(body, vocabSize, maxTokens, maxTokensName, topLogprobs, structured);
}

/** `/v1/completions`: everything but the prompt. */
export function completionPlan(body: Body, vocabSize: number): GenerationPlan {
  checkFields(body, ["prompt", "max_tokens", "logprobs"]);
  for (const [name, harmless] of [["echo", false], ["suffix", null], ["best_of", 1]] as const) {
    if (body[name] !== undefined && body[name] !== null && body[name] !== harmless) throw badRequest(`${name}: ${REFUSED[name]}`, name);
  }
  const topLogprobs = body.logprobs === undefined || body.logprobs === null ? undefined : integerIn(body.logprobs, "logprobs", 0, 5);
  return plan(body, vocabSize, body.max_tokens, "max_tokens", topLogprobs);
}

function plan(body: Body, vocabSize: number, maxTokens: unknown, maxTokensName: string, topLogprobs: number | undefined,
  structured: Record<string, unknown> = {}): GenerationPlan {
  const samplingParams: Record<string, unknown> = { ...structured };
  for (const [field, name] of Object.entries(SAMPLING_FIELDS)) {
    if (body[field] !== undefined && body[field] !== null) samplingParams[name] = body[field];
  }
  if (maxTokens !== undefined && maxTokens !== null) samplingParams.maxNewTokens = maxTokens;
  // A schema from response_format is named by that field in the engine's messages.
  const names = { ...SAMPLING_FIELDS, [maxTokensName]: "maxNewTokens", ...("jsonSchema" in structured && { response_format: "jsonSchema" }) };
  checkSampling(samplingParams as SamplingParams, vocabSize, names);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") throw badRequest("stream must be true or false", "stream");
  const stream = body.stream === true;
  const options = body.stream_options as { include_usage?: unknown } | null | undefined;
  if (options !== undefined && options !== null) {
    if (!stream) throw badRequest("stream_options needs stream: true", "stream_options");
    if (typeof options !== "object" || Object.keys(options).some((k) => k !== "include_usage" && k !== "continuous_usage_stats")) {
      throw badRequest("stream_options takes include_usage only", "stream_options");
    }
  }
  if (body.model !== undefined && typeof body.model !== "string") throw badRequest("model must be a string", "model");
  return {
    samplingParams: samplingParams as SamplingParams,
    n: (samplingParams.n as number | undefined) ?? 1,
    stream,
    includeUsage: options?.include_usage === true,
    topLogprobs,
    model: body.model as string | undefined,
  };
}

/** Unknown fields are refused by name; `extra` are the endpoint's own fields besides the common ones. */
function checkFields(body: Body, extra: readonly string[]): void {
  const known = new Set([...Object.keys(SAMPLING_FIELDS), ...IGNORED, "model", "stream", "stream_options", ...extra]);
  for (const key of Object.keys(body)) {
    if (known.has(key)) continue;
    if (key in REFUSED && !isEmpty(body[key])) throw badRequest(`${key}: ${REFUSED[key]}`, key);
    if (!(key in REFUSED)) throw badRequest(`unknown field ${key}`, key);
  }
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0) || value === "none"
    || (typeof value === "object" && Object.keys(value as object).length === 0);
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw badRequest(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`, name);
  return value as number;
}

/**
 * The engine's own check of the sampling parameters, run before the request is admitted, with its messages
 * speaking the client's field names (`top_p`, not `topP`).
 */
function checkSampling(params: SamplingParams, vocabSize: number, names: Record<string, string>): void {
  try {
    resolveSamplingParams(params, vocabSize);
  } catch (err) {
    if (!(err instanceof IrisError)) throw err;
    let message = err.message;
    let param: string | null = null;
    for (const [field, name] of Object.entries(names)) {
      if (new RegExp(`\\b${name}\\b`).test(message)) {
        message = message.replace(new RegExp(`\\b${name}\\b`, "g"), field);
        param ??= field;
      }
    }
    throw badRequest(message, param);
  }
}
