/**
 * The engine's step loop without the engine: a scheduler and a model runner over a counting cpu device, so tests can
 * look at what each step asks of the device (allocations, uploads, arena offsets) while real requests run.
 */
import type { LogprobSpec } from "../../src/core/logprobs.js";
import { join } from "node:path";
import { PageAllocator } from "../../src/cache/page-allocator.js";
import { RadixCache } from "../../src/cache/radix-cache.js";
import { CheckpointWeights } from "../../src/checkpoint/checkpoint-weights.js";
import { loadModelConfig } from "../../src/checkpoint/model-config.js";
import type { MultimodalPayload, PromptPositions } from "../../src/core/multimodal-payload.js";
import { resolveSamplingParams, type SamplingParams } from "../../src/core/sampling-params.js";
import { loadModel } from "../../src/models/registry.js";
import { ModelRunner } from "../../src/runner/model-runner.js";
import { CpuBackend } from "../../src/runtime/cpu/cpu-backend.js";
import { countingBackend, type BackendCounter } from "../../src/runtime/counting-backend.js";
import { Device } from "../../src/runtime/device.js";
import type { Backend } from "../../src/runtime/backend.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";

export interface HarnessRequest {
  readonly id: string;
  readonly inputIds: Int32Array;
  readonly maxNewTokens: number;
  readonly sampling?: SamplingParams;
  readonly mm?: MultimodalPayload;
  readonly positions?: PromptPositions;
  readonly imageKeys?: readonly number[];
  readonly logprobs?: LogprobSpec;
  /**
   * With a grammar in `sampling`: the mask the engine's grammar worker would give, fixed here, set before every
   * token the request samples (as the engine core does after each collected step).
   */
  readonly tokenMask?: Int32Array;
}

export class StepHarness {
  private readonly masks = new Map<string, Int32Array>();
  readonly device: Device;
  readonly counter: BackendCounter;
  readonly runner: ModelRunner;
  readonly scheduler: Scheduler;
  readonly vocabSize: number;
  /** Generated tokens of every request that finished. */
  readonly outputs = new Map<string, number[]>();
  private readonly limits = new Map<string, number>();

  /**
   * @param options.backend the backend to count (default: a fresh cpu backend)
   * @param options.graphBuckets decode batch sizes replayed as graphs, where the backend captures them
   */
  constructor(modelPath: string,
    options: { maxRunningRequests?: number; numPages?: number; embeddingCacheBytes?: number; backend?: Backend; graphBuckets?: readonly number[] } = {}) {
    const inner = options.backend ?? new CpuBackend();
    const { backend, counter } = countingBackend(inner);
    this.counter = counter;
    this.device = new Device(inner.kind, 0, backend);
    const config = loadModelConfig(join(modelPath, "config.json"));
    this.vocabSize = config.text.vocabSize;
    const weights = CheckpointWeights.open(modelPath);
    const model = loadModel(config, this.device, weights);
    weights.close();
    const pageSize = 16, numPages = options.numPages ?? 256, maxRunningRequests = options.maxRunningRequests ?? 16;
    const allocator = new PageAllocator({ numPages, pageSize });
    this.scheduler = new Scheduler({ allocator, prefixCache: new RadixCache(allocator), maxTokensPerStep: 512, maxRunningRequests });
    this.runner = new ModelRunner(model, this.device, {
      numPages, pageSize, contextLength: config.text.maxPositionEmbeddings, maxTokensPerStep: 512, maxRunningRequests,
      eosTokenIds: [], seed: 7, embeddingCacheBytes: options.embeddingCacheBytes, graphBuckets: options.graphBuckets,
    });
  }

  add(r: HarnessRequest): void {
    this.scheduler.addRequest({ id: r.id, promptIds: cacheKeys(r, this.runner.model.imageTokenId), maxNewTokens: r.maxNewTokens });
    this.runner.addRequest({
      id: r.id, inputIds: r.inputIds, positions: r.positions, mm: r.mm, imageKeys: r.imageKeys,
      sampling: resolveSamplingParams({ maxNewTokens: r.maxNewTokens, ignoreEos: true, ...r.sampling }, this.vocabSize),
      history: this.scheduler.tokenHistory(r.id), logprobs: r.logprobs,
    });
    this.limits.set(r.id, r.maxNewTokens);
    if (r.tokenMask) {
      this.masks.set(r.id, r.tokenMask);
      this.runner.setTokenMask(r.id, r.tokenMask);
    }
  }

  /** One step of the engine's loop; returns how many tokens it decoded (entries of one token) and prefilled. */
  async step(): Promise<{ decodes: number; prefillTokens: number }> {
    const batch = this.scheduler.schedule();
    if (batch === null) return { decodes: 0, prefillTokens: 0 };
    const { tokens, failures } = await this.runner.collect(this.runner.launch(this.runner.prepare(batch.entries)));
    if (failures.size > 0) throw [...failures.values()][0];
    for (const { requestId, numOutputTokens } of this.scheduler.processBatchResult(batch, tokens)) {
      if (numOutputTokens < this.limits.get(requestId)!) {
        const mask = this.masks.get(requestId);
        if (mask) this.runner.setTokenMask(requestId, mask);
        continue;
      }
      this.outputs.set(requestId, this.scheduler.finishRequest(requestId).outputIds.slice());
      this.runner.removeRequest(requestId);
    }
    const decodes = batch.entries.filter((e) => !e.isPrefill).length;
    return { decodes, prefillTokens: batch.numTokens - decodes };
  }

  async runToCompletion(): Promise<void> {
    while (this.scheduler.hasWork()) await this.step();
  }
}

/** Prompt keys as the engine makes them, for a request with one image: its tokens replaced by the image's content key. */
function cacheKeys(r: HarnessRequest, imageTokenId: number): number[] {
  const key = r.imageKeys?.[0];
  return Array.from(r.inputIds, (id) => (id === imageTokenId && key !== undefined ? 1_000_000 + key : id));
}
