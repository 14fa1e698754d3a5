/**
 * Turns a step's logits into one token per sampled row, in two halves: `prepare` does the host work (each row's
 * parameters, penalized tokens, masked stop tokens, one uniform draw from the request's own generator) and uploads
 * it into buffers kept across steps; `launch` enqueues the kernels. Greedy rows without penalties take the argmax
 * kernel alone; otherwise SGLang's pipeline runs: structured output's token masks (every row, greedy or not, before
 * anything else), penalties, stop tokens masked while `minNewTokens` is not reached,
 * then temperature, top-k, top-p and min-p. Logits of any float type are widened to F32 first, except for a greedy
 * step without masks whose logits nothing else reads: argmax takes them as the model wrote them (a bf16 value widens
 * to F32 exactly, so the index is the same; at batch 512 the copy cost 242 µs of a step, the argmax over twice the
 * bytes 120 µs).
 */
import { IrisError } from "../core/errors.js";
import { argmax } from "../kernels/argmax.js";
import { cast } from "../kernels/cast.js";
import { applyPenalties } from "../kernels/penalties.js";
import { applyTokenMask } from "../kernels/token-mask.js";
import { sample } from "../kernels/sample.js";
import { scatterRows } from "../kernels/scatter-rows.js";
import type { Penalties, SamplingTensors } from "../runtime/backend.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { GrowingBuffer, StagedBuffer } from "./device-buffers.js";
import type { RunnerRequest } from "./runner-request.js";
import { TokenMasks, type TokenMaskPlan } from "./token-masks.js";

/** What `launch` needs of a prepared step: views of the sampler's buffers. */
export interface SamplingPlan {
  readonly rows: number;
  /** Null: every row greedy without penalties or masks (argmax alone). */
  readonly params: SamplingTensors | null;
  readonly penalties: Penalties | null;
  /** Flat indices (row * vocab + token) of logits to set to -inf, and as many -inf values; or null. */
  readonly masked: { readonly index: Tensor; readonly values: Tensor } | null;
  /** Structured output's masks of the constrained rows, or null. */
  readonly tokenMasks: TokenMaskPlan | null;
}

/** Whether greedy steps without masks take argmax on the logits as written (the rule) or on their F32 copy. */
let greedyArgmaxOnLogits = true;

/** Forces the greedy path: argmax on the logits as written (true) or on an F32 copy (false, the path before it). */
export function setGreedyArgmaxOnLogits(on: boolean): void {
  greedyArgmaxOnLogits = on;
}

export class Sampler {
  private readonly temperature: StagedBuffer<"F32">;
  private readonly topK: StagedBuffer<"I32">;
  private readonly topP: StagedBuffer<"F32">;
  private readonly minP: StagedBuffer<"F32">;
  private readonly uniform: StagedBuffer<"F32">;
  private readonly repetition: StagedBuffer<"F32">;
  private readonly frequency: StagedBuffer<"F32">;
  private readonly presence: StagedBuffer<"F32">;
  private readonly penaltyRowStart: StagedBuffer<"I32">;
  private readonly penaltyTokens: GrowingBuffer<"I32">;
  private readonly penaltyCounts: GrowingBuffer<"I32">;
  private readonly maskIndex: GrowingBuffer<"I32">;
  /** -inf values for the masked logits, grown with `maskIndex`. */
  private readonly maskValues: GrowingBuffer<"F32">;
  private readonly tokenMasks: TokenMasks;

  constructor(device: Device, maxRows: number, private readonly vocab: number, private readonly eosTokenIds: readonly number[]) {
    const f32 = () => new StagedBuffer(device, "F32", maxRows);
    this.temperature = f32();
    this.topK = new StagedBuffer(device, "I32", maxRows);
    this.topP = f32();
    this.minP = f32();
    this.uniform = f32();
    this.repetition = f32();
    this.frequency = f32();
    this.presence = f32();
    this.penaltyRowStart = new StagedBuffer(device, "I32", maxRows + 1);
    this.penaltyTokens = new GrowingBuffer(device, "I32");
    this.penaltyCounts = new GrowingBuffer(device, "I32");
    this.maskIndex = new GrowingBuffer(device, "I32");
    this.maskValues = new GrowingBuffer(device, "F32");
    this.tokenMasks = new TokenMasks(device, maxRows, vocab);
  }

  /** Host work and uploads for sampling one token of each of `rows` (in logit-row order). */
  prepare(rows: readonly RunnerRequest[]): SamplingPlan {
    const B = rows.length;
    for (const r of rows) {
      // Penalties, minimum lengths and grammars read the outputs on the host: every earlier token must be collected.
      if ((r.hasPenalties || r.sampling.minNewTokens > 0 || r.constrained) && r.outputLength < r.launchedTokens - 1) {
        throw new IrisError("INTERNAL", `internal error: request ${r.id} samples with penalties before its previous token was collected`);
      }
      r.countOutputs();
    }
    const masks = this.minTokenMasks(rows);
    const tokenMasks = this.tokenMasks.prepare(rows);
    const penalized = rows.some((r) => r.hasPenalties);
    // Greedy rows draw too, so a request's sequence of draws does not depend on its neighbours.
    const draws = rows.map((r) => r.rng.next());
    if (masks.length === 0 && !penalized && rows.every((r) => r.sampling.greedy)) return { rows: B, params: null, penalties: null, masked: null, tokenMasks };
    rows.forEach((r, i) => {
      this.temperature.host[i] = r.sampling.greedy ? 0 : r.sampling.temperature;
      this.topK.host[i] = Math.min(r.sampling.topK, 2 ** 31 - 1);
      this.topP.host[i] = r.sampling.topP;
      this.minP.host[i] = r.sampling.minP;
      this.uniform.host[i] = draws[i];
    });
    const params = {
      temperature: this.temperature.put(B), topK: this.topK.put(B), topP: this.topP.put(B), minP: this.minP.put(B), uniform: this.uniform.put(B),
    };
    const masked = masks.length === 0 ? null : {
      index: this.maskIndex.put(Int32Array.from(masks)),
      values: this.maskValues.put(new Float32Array(masks.length).fill(-Infinity)).view([masks.length, 1]),
    };
    return { rows: B, params, penalties: penalized ? this.penaltyTensors(rows) : null, masked, tokenMasks };
  }

  /**
   * Enqueues the sampling of `logits` [B, vocab] (any float type) into `out` I32 [B]; returns the F32 logits as
   * sampled (penalized and masked, before temperature), which the logprobs are computed from, where `keepLogits`
   * asks for them; otherwise null.
   */
  launch(logits: Tensor, plan: SamplingPlan, out: Tensor, keepLogits: boolean): Tensor | null {
    if (plan.params === null && plan.tokenMasks === null && !keepLogits && greedyArgmaxOnLogits) {
      argmax(logits, out);
      return null;
    }
    // The step's own logits (an intermediate no one else reads) are penalized and masked in place.
    const wide = cast(logits, "F32");
    if (plan.tokenMasks !== null) applyTokenMask(wide, plan.tokenMasks.bitmask, plan.tokenMasks.rows);
    if (plan.params === null) {
      argmax(wide, out);
      return wide;
    }
    if (plan.penalties !== null) applyPenalties(wide, plan.penalties);
    // Mask through a [B*V, 1] view of the logits: each masked entry is one "row" set to -inf.
    if (plan.masked !== null) scatterRows(wide.view([plan.rows * this.vocab, 1]), plan.masked.index, plan.masked.values);
    sample(wide, plan.params, out);
    return wide;
  }

  /** Flat indices (row * vocab + token) of stop tokens that may not end a request before its `minNewTokens`. */
  private minTokenMasks(rows: readonly RunnerRequest[]): number[] {
    const out: number[] = [];
    rows.forEach((r, row) => {
      if (r.outputLength >= r.sampling.minNewTokens) return;
      const stops = new Set([...(r.sampling.ignoreEos ? [] : this.eosTokenIds), ...r.sampling.stopTokenIds]);
      for (const token of stops) if (token < this.vocab) out.push(row * this.vocab + token);
    });
    return out;
  }

  private penaltyTensors(rows: readonly RunnerRequest[]): Penalties {
    const tokenIds: number[] = [];
    const outputCounts: number[] = [];
    const start = this.penaltyRowStart.host;
    start[0] = 0;
    rows.forEach((r, i) => {
      if (r.hasPenalties) {
        // Every distinct token of prompt and output once; the repetition penalty covers both, as in Hugging Face.
        for (const token of r.seenTokens) {
          tokenIds.push(token);
          outputCounts.push(r.outputCounts.get(token) ?? 0);
        }
      }
      start[i + 1] = tokenIds.length;
      this.repetition.host[i] = r.sampling.repetitionPenalty;
      this.frequency.host[i] = r.sampling.frequencyPenalty;
      this.presence.host[i] = r.sampling.presencePenalty;
    });
    const B = rows.length;
    return {
      tokenIds: this.penaltyTokens.put(Int32Array.from(tokenIds)),
      outputCounts: this.penaltyCounts.put(Int32Array.from(outputCounts)),
      rowStart: this.penaltyRowStart.put(B + 1),
      repetition: this.repetition.put(B),
      frequency: this.frequency.put(B),
      presence: this.presence.put(B),
    };
  }
}

/** The plan of a tensor-parallel rank other than 0, which runs the forward pass but never samples. */
export function skipSampling(rows: number): SamplingPlan {
  return { rows, params: null, penalties: null, masked: null, tokenMasks: null };
}
