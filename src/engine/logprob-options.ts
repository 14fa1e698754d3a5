/**
 * The logprob fields of a request (`returnLogprob`, `logprobStartLen`, `topLogprobsNum`, `tokenIdsLogprob`): spread
 * over a batch as SGLang spreads them, and checked against the prompt and vocabulary once the prompt is known.
 */
import { IrisError } from "../core/errors.js";
import type { LogprobSpec } from "../core/logprobs.js";
import type { GenerateRequest } from "../core/request.js";

/** One prompt's logprob fields, as given. */
export interface LogprobFields {
  readonly returnLogprob: unknown;
  readonly logprobStartLen: unknown;
  readonly topLogprobsNum: unknown;
  readonly tokenIdsLogprob: unknown;
}

function fail(message: string): never {
  throw new IrisError("INVALID_ARGUMENT", message);
}

/** SGLang's rules: a scalar goes to every prompt; a list has one entry per prompt and may not meet n > 1. */
export function spreadLogprobFields(req: GenerateRequest, size: number, isBatch: boolean, n: number): LogprobFields[] {
  const spread = (name: "returnLogprob" | "logprobStartLen" | "topLogprobsNum"): unknown[] => {
    const value = req[name];
    if (!Array.isArray(value)) return Array.from({ length: size }, () => value);
    if (!isBatch) fail(`${name} must be a single value for a single prompt.`);
    if (n > 1) fail(`Cannot use list ${name} with parallel_sample_num > 1`);
    if (value.length !== size) fail(`${name} has ${value.length} entries for a batch of ${size}.`);
    return value;
  };
  const ids = req.tokenIdsLogprob;
  let tokenIds: unknown[];
  if (ids === undefined || ids === null || !Array.isArray(ids) || !Array.isArray(ids[0])) {
    tokenIds = Array.from({ length: size }, () => (Array.isArray(ids) && ids.length === 0 ? undefined : ids));
  } else {
    if (!isBatch && ids.length !== 1) fail("tokenIdsLogprob must be a list of token ids for a single prompt.");
    if (n > 1) fail("Cannot use list tokenIdsLogprob with parallel_sample_num > 1");
    if (ids.length !== size) fail(`tokenIdsLogprob has ${ids.length} lists for a batch of ${size}.`);
    tokenIds = ids;
  }
  const returnLogprob = spread("returnLogprob"), start = spread("logprobStartLen"), top = spread("topLogprobsNum");
  return returnLogprob.map((r, i) => ({ returnLogprob: r, logprobStartLen: start[i], topLogprobsNum: top[i], tokenIdsLogprob: tokenIds[i] }));
}

/** The resolved spec (undefined when `returnLogprob` is not true), checked against the prompt length and vocabulary. */
export function resolveLogprobSpec(fields: LogprobFields, promptLength: number, vocabSize: number): LogprobSpec | undefined {
  const { returnLogprob, logprobStartLen, topLogprobsNum, tokenIdsLogprob } = fields;
  if (returnLogprob !== undefined && typeof returnLogprob !== "boolean") fail(`returnLogprob must be true or false, got ${JSON.stringify(returnLogprob)}.`);
  if (!returnLogprob) {
    const stray = Object.entries({ logprobStartLen, topLogprobsNum, tokenIdsLogprob }).filter(([, v]) => v !== undefined && v !== null);
    if (stray.length > 0) fail(`${stray.map(([k]) => k).join(", ")} needs returnLogprob: true.`);
    return undefined;
  }
  const startLen = logprobStartLen ?? -1;
  if (!Number.isInteger(startLen) || (startLen as number) < -1 || (startLen as number) >= promptLength) {
    fail(`logprobStartLen must be -1 (output logprobs only) or a prompt position in [0, ${promptLength - 1}], got ${JSON.stringify(logprobStartLen)}.`);
  }
  const topNum = topLogprobsNum ?? 0;
  if (!Number.isInteger(topNum) || (topNum as number) < 0 || (topNum as number) > vocabSize) {
    fail(`topLogprobsNum must be an integer in [0, ${vocabSize}], got ${JSON.stringify(topLogprobsNum)}.`);
  }
  let tokenIds: number[] | null = null;
  if (tokenIdsLogprob !== undefined && tokenIdsLogprob !== null) {
    if (!Array.isArray(tokenIdsLogprob) || !tokenIdsLogprob.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      fail(`tokenIdsLogprob must be a list of token ids in [0, ${vocabSize - 1}], got ${JSON.stringify(tokenIdsLogprob)}.`);
    }
    tokenIds = tokenIdsLogprob.length > 0 ? [...(tokenIdsLogprob as number[])] : null;
  }
  return { startLen: startLen as number, topNum: topNum as number, tokenIds };
}
