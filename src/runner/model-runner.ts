/**
 * Runs the steps the scheduler plans: builds each forward batch (tokens, positions, image embeddings, cache slots),
 * runs the model, samples. It owns the KV cache memory and the per-request state the model needs between steps.
 */
import type { LayerKVCache } from "../attention/attention-batch.js";
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import { concatRows } from "../kernels/concat-rows.js";
import { gatherRows } from "../kernels/gather-rows.js";
import type { VisionLanguageModel } from "../models/model.js";
import { empty, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { buildAttentionBatch } from "./attention-metadata.js";
import { EmbeddingCache } from "./embedding-cache.js";
import { RunnerRequest, type RunnerRequestSpec } from "./runner-request.js";
import { sampleTokens } from "./sampler.js";

/** One request's work in a step (the scheduler's `BatchEntry` has this shape). */
export interface StepEntry {
  readonly requestId: string;
  readonly startPosition: number;
  readonly numTokens: number;
  readonly slots: Int32Array;
  readonly pageTable: readonly number[];
  readonly sample: boolean;
}

export interface StepResult {
  readonly tokens: Int32Array;
  readonly failures: ReadonlyMap<string, IrisError>;
}

export interface ModelRunnerOptions {
  readonly numPages: number;
  readonly pageSize: number;
  readonly eosTokenIds: readonly number[];
  /** Seeds requests that bring no seed of their own: the n-th such request gets seed + n. */
  readonly seed: number;
  /** Budget of the vision embedding cache (default 256 MiB). */
  readonly embeddingCacheBytes?: number;
}

export class ModelRunner {
  private readonly caches: LayerKVCache[];
  private readonly requests = new Map<string, RunnerRequest>();
  private requestCounter = 0;
  private readonly embeddingCache: EmbeddingCache;

  constructor(readonly model: VisionLanguageModel, readonly device: Device, private readonly options: ModelRunnerOptions) {
    this.embeddingCache = new EmbeddingCache(options.embeddingCacheBytes ?? 256 * 2 ** 20, DTYPE_BYTES[device.floatDType]);
    const text = model.config.text;
    const slots = options.numPages * options.pageSize;
    this.caches = Array.from({ length: text.numLayers }, () => ({
      k: empty(device, [slots, text.numKvHeads, text.headDim]),
      v: empty(device, [slots, text.numKvHeads, text.headDim]),
    }));
  }

  addRequest(spec: RunnerRequestSpec): void {
    const seed = (this.options.seed + this.requestCounter++) >>> 0;
    this.requests.set(spec.id, new RunnerRequest(spec, this.model.imageTokenId, seed));
  }

  removeRequest(id: string): void {
    this.requests.delete(id);
  }

  /** The vision encoder alone, for `Engine.encodeImages`: [image tokens, hidden]. */
  encodeImages(mm: MultimodalPayload): Tensor {
    if (mm.kind === "embeddings") return fromHost(this.device, mm.embeddings);
    return this.model.encodeImages({ pixelValues: fromHost(this.device, mm.pixelValues), imageGrids: mm.imageGrids });
  }

  /**
   * Computes one step. Resolves to the sampled tokens of the entries with `sample`, in entry order, and the requests
   * that failed alone (their images could not be encoded): their entries are left out and their tokens are -1.
   */
  async step(allEntries: readonly StepEntry[]): Promise<StepResult> {
    const failures = new Map<string, IrisError>();
    for (const entry of allEntries) {
      const req = this.request(entry.requestId);
      if (!this.needsImages(req, entry)) continue;
      try {
        this.embeddingsOf(req);
      } catch (err) {
        failures.set(req.id, err instanceof IrisError ? err : new IrisError("INTERNAL", `vision encoder failed: ${(err as Error).message}`));
      }
    }
    const entries = allEntries.filter((e) => !failures.has(e.requestId));
    const tokens = await this.forward(entries);
    const out = new Int32Array(allEntries.filter((e) => e.sample).length).fill(-1);
    let next = 0;
    let k = 0;
    for (const e of allEntries) {
      if (!e.sample) continue;
      if (!failures.has(e.requestId)) out[k] = tokens[next++];
      k++;
    }
    return { tokens: out, failures };
  }

  private needsImages(req: RunnerRequest, entry: StepEntry): boolean {
    if (req.imageEmbeddings !== null || req.imageRowOf.size === 0) return false;
    for (let i = entry.startPosition; i < entry.startPosition + entry.numTokens; i++) if (req.imageRowOf.has(i)) return true;
    return false;
  }

  private async forward(entries: readonly StepEntry[]): Promise<Int32Array> {
    if (entries.length === 0) return new Int32Array(0);
    const rowsP = this.model.positionRows;
    const total = entries.reduce((n, e) => n + e.numTokens, 0);
    const ids = new Int32Array(total);
    const positions = new Int32Array(total * rowsP);
    const cachePositions = new Int32Array(total);
    const logitRows: number[] = [];
    const sampled: RunnerRequest[] = [];
    const imageRows: number[] = [];
    const imageParts: Tensor[] = [];

    let row = 0;
    for (const entry of entries) {
      const req = this.request(entry.requestId);
      const wanted: number[] = [];
      for (let i = 0; i < entry.numTokens; i++, row++) {
        const index = entry.startPosition + i;
        ids[row] = req.tokens[index];
        cachePositions[row] = index;
        req.writePosition(index, rowsP, positions, row * rowsP);
        const imageRow = req.imageRowOf.get(index);
        if (imageRow !== undefined) {
          imageRows.push(row);
          wanted.push(imageRow);
        }
      }
      if (wanted.length) imageParts.push(gatherRows(this.embeddingsOf(req), fromHost(this.device, Int32Array.from(wanted), { dtype: "I32" })));
      if (entry.sample) {
        logitRows.push(row - 1);
        sampled.push(req);
      }
    }

    const i32 = (data: Int32Array | number[], shape?: number[]) => fromHost(this.device, Int32Array.from(data), { dtype: "I32", shape });
    const attention = buildAttentionBatch(this.device, this.caches, this.options.pageSize, entries.map((e) => ({
      queryCount: e.numTokens,
      kvLen: e.startPosition + e.numTokens,
      pages: e.pageTable,
      slots: e.slots,
    })));
    const logits = this.model.forward({
      inputIds: i32(ids),
      positions: i32(positions, [total, rowsP]),
      cachePositions,
      images: imageParts.length ? { rows: i32(imageRows), embeddings: imageParts.length === 1 ? imageParts[0] : concatRows(imageParts) } : null,
      attention,
      logitRows: i32(logitRows),
    });
    if (sampled.length === 0) return new Int32Array(0);
    const tokens = await sampleTokens(this.device, logits, sampled, this.options.eosTokenIds);
    sampled.forEach((req, i) => req.appendToken(tokens[i]));
    return tokens;
  }

  private embeddingsOf(req: RunnerRequest): Tensor {
    if (req.imageEmbeddings === null) {
      if (!req.mm) throw new IrisError("INTERNAL", `internal error: request ${req.id} has image tokens but no images`);
      const cached = req.imagesKey === undefined ? undefined : this.embeddingCache.get(req.imagesKey);
      req.imageEmbeddings = cached ?? this.encodeImages(req.mm);
      if (!cached && req.imagesKey !== undefined) this.embeddingCache.put(req.imagesKey, req.imageEmbeddings);
      const expected = req.imageRowOf.size;
      if (req.imageEmbeddings.shape[0] !== expected) {
        throw new IrisError("IMAGE_TOKEN_MISMATCH", `the images give ${req.imageEmbeddings.shape[0]} embedding rows for ${expected} image tokens`);
      }
    }
    return req.imageEmbeddings;
  }

  private request(id: string): RunnerRequest {
    const req = this.requests.get(id);
    if (!req) throw new IrisError("INTERNAL", `internal error: the runner has no request ${id}`);
    return req;
  }
}
