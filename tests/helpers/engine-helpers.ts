/**
 * Shared pieces of the engine end-to-end tests: the fixture cases by name, greedy sampling parameters, collecting a
 * stream, and asserting typed errors.
 */
import assert from "node:assert/strict";
import { isIrisError, type IrisError, type IrisErrorCode } from "../../src/core/errors.js";
import type { GenerateResult, StreamChunk } from "../../src/core/request.js";
import type { SamplingParams } from "../../src/core/sampling-params.js";
import { loadCases, type FixtureCase, type FixtureModel } from "./fixtures.js";

export const QWEN: FixtureModel = "tiny-qwen2_5-vl";
export const LLAMA4: FixtureModel = "tiny-llama4";

/** `<|image_pad|>` of the Qwen tokenizer. */
export const QWEN_IMAGE_TOKEN_ID = 151655;

/** The fixture cases of a model, by name (`text_only`, `one_image`, ...). */
export function casesByName(model: FixtureModel): Record<string, FixtureCase> {
  return Object.fromEntries(loadCases(model).map((c) => [c.name, c]));
}

/** Greedy decoding of exactly `maxNewTokens` tokens (end of sequence ignored), plus any other parameters. */
export function greedy(maxNewTokens: number, extra: SamplingParams = {}): SamplingParams {
  return { temperature: 0, maxNewTokens, ignoreEos: true, ...extra };
}

/** Reads a whole stream. */
export async function collect(stream: AsyncIterable<StreamChunk>): Promise<StreamChunk[]> {
  const chunks: StreamChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Awaits a promise that must reject with an IrisError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: IrisErrorCode, message?: RegExp): Promise<IrisError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(isIrisError(caught), `expected an IrisError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** The result of a request that failed inside a batch: an abort reason carrying the error code, no output. */
export function assertFailedInBatch(result: GenerateResult, code: IrisErrorCode): void {
  const reason = result.metaInfo.finishReason;
  assert.ok(reason?.type === "abort", `expected an abort, got ${JSON.stringify(reason)}`);
  assert.equal(reason.code, code, reason.message);
  assert.ok(reason.message.length > 0);
  assert.deepEqual(result.outputIds, []);
  assert.equal(result.text, "");
}

/** The tokens and text of two results agree (the same request run two ways). */
export function assertSameOutput(actual: GenerateResult, expected: GenerateResult, what: string): void {
  assert.deepEqual(actual.outputIds, expected.outputIds, `${what}: output ids differ`);
  assert.equal(actual.text, expected.text, `${what}: text differs`);
  assert.deepEqual(actual.metaInfo.finishReason, expected.metaInfo.finishReason, `${what}: finish reason differs`);
  assert.equal(actual.metaInfo.promptTokens, expected.metaInfo.promptTokens, `${what}: prompt tokens differ`);
}

/**
 * Awaits `promise`, failing with `message` if it is still pending after `ms`: a guard against a hang (a request that
 * never settles), not a timing assertion, so `ms` is many times the expected duration.
 */
export async function settlesWithin<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (still pending after ${ms / 1000} s)`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}
