/**
 * What the runner keeps per request between steps: its whole token sequence, rotary positions, images and the
 * state its sampler needs (random generator, token counts for penalties).
 */
import type { MultimodalPayload, PromptPositions } from "../core/multimodal-payload.js";
import type { ResolvedSamplingParams } from "../core/sampling-params.js";
import type { Tensor } from "../runtime/tensor.js";
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
}

export class RunnerRequest {
  readonly id: string;
  readonly promptLength: number;
  readonly sampling: ResolvedSamplingParams;
  readonly rng: Rng;
  /** Prompt then generated tokens. */
  readonly tokens: number[];
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

  constructor(spec: RunnerRequestSpec, imageTokenId: number, seed: number) {
    this.id = spec.id;
    this.promptLength = spec.inputIds.length;
    this.sampling = spec.sampling;
    this.rng = new Rng(spec.sampling.seed ?? seed);
    this.tokens = Array.from(spec.inputIds);
    this.seenTokens = new Set(this.tokens);
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

  appendToken(token: number): void {
    this.tokens.push(token);
    this.seenTokens.add(token);
    this.outputCounts.set(token, (this.outputCounts.get(token) ?? 0) + 1);
  }

  /** Writes the rotary position of the token at `index` into `out` (rows values at `offset`). */
  writePosition(index: number, rows: number, out: Int32Array, offset: number): void {
    const p = this.positions;
    for (let r = 0; r < rows; r++) {
      if (p && index < this.promptLength) out[offset + r] = p.values[index * p.rows + Math.min(r, p.rows - 1)];
      else out[offset + r] = index + (p?.decodeOffset ?? 0);
    }
  }

  /** Whether sampling needs the penalty kernel for this request. */
  get hasPenalties(): boolean {
    const s = this.sampling;
    return s.repetitionPenalty !== 1 || s.frequencyPenalty !== 0 || s.presencePenalty !== 0;
  }
}
