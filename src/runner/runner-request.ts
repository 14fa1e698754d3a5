/**
 * What the runner keeps per request between steps: its prompt ids, rotary positions, images and the state its
 * sampler needs (random generator, token counts for penalties). The generated tokens are not copied here: the
 * request's one token history (the scheduler's, appended when a step's tokens are recorded) is read instead.
 */
import type { MultimodalPayload, PromptPositions } from "../core/multimodal-payload.js";
import type { ResolvedSamplingParams } from "../core/sampling-params.js";
import type { Tensor } from "../runtime/tensor.js";
import type { LogprobSpec } from "../core/logprobs.js";
import { Rng } from "./rng.js";

export interface RunnerRequestSpec {
  readonly id: string;
  /** The prompt's token ids, image placeholders expanded. */
  readonly inputIds: Int32Array;
  readonly positions?: PromptPositions;
  readonly mm?: MultimodalPayload;
  /** Content keys of the request's images, in order: equal keys mean equal images (and equal embeddings). */
  readonly imageKeys?: readonly number[];
  readonly sampling: ResolvedSamplingParams;
  /**
   * The request's token history: prompt (as prefix-cache keys) then every generated token, appended by its owner.
   * Read only from position `inputIds.length` on, where keys and ids agree.
   */
  readonly history: readonly number[];
  /** What the request asks of logprobs; absent: none. */
  readonly logprobs?: LogprobSpec;
}

export class RunnerRequest {
  readonly id: string;
  readonly promptLength: number;
  readonly sampling: ResolvedSamplingParams;
  readonly rng: Rng;
  readonly logprobs: LogprobSpec | null;
  private readonly promptIds: Int32Array;
  private readonly history: readonly number[];
  /** Generated tokens counted into `outputCounts` and `seenTokens` so far. */
  private counted = 0;
  /** Tokens sampled by launched steps (collected or not). */
  launchedTokens = 0;
  /** How often each token occurs in the output (frequency and presence penalties). */
  readonly outputCounts = new Map<number, number>();
  /** Every distinct token of prompt and output (the repetition penalty's set), kept as tokens arrive. */
  readonly seenTokens: Set<number>;
  /** Prompt index → row of the image embeddings, for the prompt's image tokens. */
  readonly imageRowOf: Map<number, number>;
  readonly mm: MultimodalPayload | undefined;
  readonly positions: PromptPositions | undefined;
  /** Key of the request's images in the embedding cache; undefined when they have no content keys. */
  readonly imagesKey: string | undefined;
  /** The vision encoder's output for this request, computed when a step first needs it. */
  imageEmbeddings: Tensor | null = null;
  /** Structured output: the allowed set of the next token (bit t & 31 of word t >> 5), and the output length it follows. */
  private mask: Int32Array | null = null;
  private maskAfter = -1;

  constructor(spec: RunnerRequestSpec, imageTokenId: number, seed: number) {
    this.id = spec.id;
    this.promptLength = spec.inputIds.length;
    this.sampling = spec.sampling;
    this.rng = new Rng(spec.sampling.seed ?? seed);
    this.logprobs = spec.logprobs ?? null;
    this.promptIds = spec.inputIds;
    this.history = spec.history;
    this.seenTokens = new Set(spec.inputIds);
    this.mm = spec.mm;
    this.positions = spec.positions;
    this.imagesKey = spec.imageKeys?.length ? `${spec.mm?.kind}:${spec.imageKeys.join(",")}` : undefined;
    this.imageRowOf = new Map();
    if (spec.mm) {
      let row = 0;
      spec.inputIds.forEach((id, i) => {
        if (id === imageTokenId) this.imageRowOf.set(i, row++);
      });
    }
  }

  /** The token id at `index` of prompt + output; only tokens already in the history are known. */
  tokenAt(index: number): number {
    if (index < this.promptLength) return this.promptIds[index];
    if (index >= this.history.length) throw new Error(`internal error: token ${index} of request ${this.id} is not known yet`);
    return this.history[index];
  }

  /** Position of the newest token a launched step sampled (it may still be on the device). */
  get newestLaunchedIndex(): number {
    return this.promptLength + this.launchedTokens - 1;
  }

  /** Whether the logits at prompt position `index` are asked for: they give the input logprob of position index + 1. */
  predictsPrompt(index: number): boolean {
    const start = this.logprobs?.startLen ?? -1;
    return start >= 0 && index >= Math.max(start - 1, 0) && index + 1 < this.promptLength;
  }

  get outputLength(): number {
    return this.history.length - this.promptLength;
  }

  /** Counts the tokens generated since the last call into the penalties' state. */
  countOutputs(): void {
    for (; this.counted < this.outputLength; this.counted++) {
      const token = this.history[this.promptLength + this.counted];
      this.seenTokens.add(token);
      this.outputCounts.set(token, (this.outputCounts.get(token) ?? 0) + 1);
    }
  }

  /** Writes the rotary position of the token at `index` into `out` (rows values at `offset`). */
  writePosition(index: number, rows: number, out: Int32Array, offset: number): void {
    const p = this.positions;
    for (let r = 0; r < rows; r++) {
      if (p && index < this.promptLength) out[offset + r] = p.values[index * p.rows + Math.min(r, p.rows - 1)];
      else out[offset + r] = index + (p?.decodeOffset ?? 0);
    }
  }

  /** Whether the request's output follows a grammar (its next token's mask comes from `setTokenMask`). */
  get constrained(): boolean {
    return this.sampling.grammar !== null;
  }

  /** The grammar's mask of the next token, computed after the request's newest output token. */
  setTokenMask(mask: Int32Array): void {
    this.mask = mask;
    this.maskAfter = this.outputLength;
  }

  /** The mask of the next token; null when none was set after the newest output token (a caller's bug). */
  tokenMask(): Int32Array | null {
    return this.maskAfter === this.outputLength ? this.mask : null;
  }

  /** Whether sampling needs the penalty kernel for this request. */
  get hasPenalties(): boolean {
    const s = this.sampling;
    return s.repetitionPenalty !== 1 || s.frequencyPenalty !== 0 || s.presencePenalty !== 0;
  }
}
