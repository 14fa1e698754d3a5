/**
 * A running request's input logprobs on the core's side: prompt positions arrive step by step (a chunked prefill
 * spreads them over several steps; a retracted request recomputes them, which overwrites), and are sent once, with
 * the request's first output token, when all of them are known.
 */
import type { LogprobSpec, PositionLogprobs } from "../core/logprobs.js";
import type { InputLogprobs } from "../runner/step-logprobs.js";

export class RequestLogprobs {
  private readonly input = new Map<number, PositionLogprobs>();
  private sent = false;

  constructor(readonly spec: LogprobSpec, private readonly promptIds: Int32Array) {}

  add(entries: readonly InputLogprobs[]): void {
    for (const { position, ...entry } of entries) this.input.set(position, entry);
  }

  /** The prompt positions from `startLen` on, the first time it is asked; position 0 has no logprob (null). */
  takeInput(): PositionLogprobs[] | undefined {
    if (this.sent || this.spec.startLen < 0) return undefined;
    this.sent = true;
    const out: PositionLogprobs[] = [];
    for (let p = this.spec.startLen; p < this.promptIds.length; p++) {
      const entry = p === 0 ? { logprob: null, tokenId: this.promptIds[0], top: null, ids: null } : this.input.get(p);
      if (entry === undefined) throw new Error(`internal error: no input logprob computed for prompt position ${p}`);
      out.push(entry);
    }
    return out;
  }
}
