/**
 * Turns one `generate` call into a list of single requests, with SGLang's batching rules: a string prompt (or a flat
 * id list) is one request, a list is a batch; `imageData`, `samplingParams` and `rid` spread over the batch the way
 * SGLang's `GenerateReqInput.normalize_batch_and_arguments` spreads them.
 */
import { randomUUID } from "node:crypto";
import { IrisError } from "../core/errors.js";
import { toNumbers, type HostTensor } from "../core/host-tensor.js";
import { checkKeys } from "../core/option-keys.js";
import type { GenerateRequest, ImageInput } from "../core/request.js";
import { parallelSampleCount, type SamplingParams } from "../core/sampling-params.js";
import { spreadLogprobFields, type LogprobFields } from "./logprob-options.js";
import { REQUEST_FIELD_NAMES } from "./option-names.js";

export interface SingleRequest {
  /** Position in the caller's batch. */
  readonly index: number;
  readonly rid: string;
  readonly prompt: string | undefined;
  readonly inputIds: readonly number[] | undefined;
  readonly images: readonly ImageInput[];
  readonly samplingParams: SamplingParams | undefined;
  /**
   * The results this prompt gives: one, or with `n > 1` one per parallel sample, each with its own rid and its
   * position in the returned list (SGLang keeps a prompt's samples together: prompt i, sample j is at i * n + j).
   */
  readonly samples: readonly { readonly rid: string; readonly index: number }[];
  readonly logprobs: LogprobFields;
}

export interface NormalizedRequest {
  readonly isBatch: boolean;
  readonly requests: SingleRequest[];
}

function fail(message: string): never {
  throw new IrisError("INVALID_ARGUMENT", message);
}

export function normalizeRequest(req: GenerateRequest): NormalizedRequest {
  if (typeof req !== "object" || req === null) fail("generate takes a request object: { prompt | inputIds, imageData?, samplingParams? }.");
  checkKeys(req, REQUEST_FIELD_NAMES);
  const { prompt, inputIds } = req;
  if (prompt === undefined && inputIds === undefined) fail("Either prompt or inputIds should be provided.");
  if (prompt !== undefined && inputIds !== undefined) {
    fail("Give either prompt or inputIds, not both: the engine would not know which one to run.");
  }

  let prompts: (string | undefined)[];
  let ids: (number[] | undefined)[];
  let isBatch: boolean;
  if (prompt !== undefined) {
    isBatch = Array.isArray(prompt);
    prompts = isBatch ? (prompt as string[]) : [prompt as string];
    if (!prompts.every((p) => typeof p === "string")) fail("prompt must be a string or a list of strings.");
    ids = prompts.map(() => undefined);
  } else {
    const list = idLists(inputIds!);
    if (!Array.isArray(list)) fail("inputIds must be a list of token ids or a list of such lists.");
    if (list.length === 0) fail("inputIds cannot be empty.");
    isBatch = Array.isArray(list[0]);
    ids = isBatch ? (list as number[][]) : [list as number[]];
    for (const one of ids) {
      if (!Array.isArray(one) || !one.every((t) => Number.isInteger(t) && t >= 0)) {
        fail("inputIds must hold non-negative integer token ids (a list, or for a batch a list of lists).");
      }
      if (one.length === 0) fail("inputIds cannot be empty.");
    }
    prompts = ids.map(() => undefined);
  }
  const size = prompts.length;
  if (isBatch && size === 0) fail("the batch is empty: give at least one prompt.");

  const images = spreadImages(req.imageData, size, isBatch);
  const params = spreadSamplingParams(req.samplingParams, size);
  const rids = spreadRids(req.rid, size, isBatch);
  const n = sharedSampleCount(params);
  const logprobs = spreadLogprobFields(req, size, isBatch, n);
  const samples = (i: number) => (n === 1 ? [{ rid: rids[i], index: i }] : Array.from({ length: n }, (_, j) => ({ rid: `${rids[i]}_${j}`, index: i * n + j })));
  return {
    // SGLang turns a single prompt with n > 1 into a batch, so it returns a list of n results.
    isBatch: isBatch || n > 1,
    requests: prompts.map((p, i) => ({ index: i, rid: rids[i], prompt: p, inputIds: ids[i], images: images[i], samplingParams: params[i], samples: samples(i), logprobs: logprobs[i] })),
  };
}

/** SGLang's rule: every prompt of a call has the same `n`. */
function sharedSampleCount(params: (SamplingParams | undefined)[]): number {
  const counts = params.map((p) => (typeof p === "object" && p !== null ? parallelSampleCount(p) : 1));
  if (counts.some((c) => c !== counts[0])) fail("The parallel_sample_num should be the same for all samples in sample params (n differs between samplingParams entries).");
  return counts[0];
}

/** Ids given as arrays pass through; a tensor becomes one list (1-D) or one list per row (2-D). */
function idLists(ids: NonNullable<GenerateRequest["inputIds"]>): unknown[] {
  if (Array.isArray(ids)) return ids;
  const t = ids as HostTensor;
  if (!t || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data) || t.shape.length < 1 || t.shape.length > 2) {
    fail("inputIds must be a list of token ids, a list of such lists, or a 1-D or 2-D tensor of ids.");
  }
  const flat = toNumbers(t);
  if (t.shape.length === 1) return flat;
  const width = t.shape[1];
  return Array.from({ length: t.shape[0] }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/**
 * SGLang's `_normalize_image_data`: for a batch, one non-list image goes to every prompt; a list must have one entry
 * per prompt, and only its first entry decides whether entries are lists (images per prompt) or single images.
 */
function spreadImages(data: GenerateRequest["imageData"], size: number, isBatch: boolean): ImageInput[][] {
  if (data === undefined || data === null) return Array.from({ length: size }, () => []);
  if (!isBatch) {
    if (!Array.isArray(data)) return [[data as ImageInput]];
    // A single prompt given [[a, b]] (the batch form of one prompt) means the same as [a, b].
    if (data.length === 1 && Array.isArray(data[0])) return [data[0] as ImageInput[]];
    if (data.some((d) => Array.isArray(d))) fail("for a single prompt, imageData must be an image or a flat list of images.");
    return [data as ImageInput[]];
  }
  if (!Array.isArray(data)) return Array.from({ length: size }, () => [data as ImageInput]);
  if (data.length === 0) return Array.from({ length: size }, () => []);
  if (data.length !== size) fail(`The length of imageData (${data.length}) should be equal to the batch size (${size}).`);
  if (Array.isArray(data[0])) {
    return data.map((entry) => (entry === null || entry === undefined ? [] : Array.isArray(entry) ? entry : [entry as ImageInput]));
  }
  return data.map((entry) => (entry === null || entry === undefined ? [] : [entry as ImageInput]));
}

function spreadSamplingParams(params: GenerateRequest["samplingParams"], size: number): (SamplingParams | undefined)[] {
  if (params === undefined || params === null) return Array.from({ length: size }, () => undefined);
  if (!Array.isArray(params)) return Array.from({ length: size }, () => params);
  if (params.length !== size) fail(`samplingParams has ${params.length} entries for a batch of ${size}.`);
  return params;
}

function spreadRids(rid: GenerateRequest["rid"], size: number, isBatch: boolean): string[] {
  let rids: string[];
  if (rid === undefined || rid === null) rids = Array.from({ length: size }, () => randomUUID().replaceAll("-", ""));
  else if (typeof rid === "string") rids = isBatch ? Array.from({ length: size }, (_, i) => `${rid}_${i}`) : [rid];
  else if (Array.isArray(rid) && rid.every((r) => typeof r === "string")) {
    if (rid.length !== size) fail("The specified rids length mismatch with the batch_size for batch processing.");
    rids = rid;
  } else fail("The rid should be a string or a list of strings.");
  if (new Set(rids).size !== rids.length) fail(`Duplicate request IDs detected within the request: ${JSON.stringify(rids)}`);
  return rids;
}
