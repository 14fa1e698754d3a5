/** A request's logprobs gathered on the caller's side, and their SGLang shapes in `metaInfo`. */
import type { LogprobTuple, PositionLogprobs } from "../core/logprobs.js";
import type { MetaInfo } from "../core/request.js";
import type { CoreOutput } from "./protocol.js";

type LogprobMeta = Pick<MetaInfo, "inputTokenLogprobs" | "outputTokenLogprobs" | "inputTopLogprobs" | "outputTopLogprobs" | "inputTokenIdsLogprobs" | "outputTokenIdsLogprobs">;

const tuple = (logprob: number | null, tokenId: number): LogprobTuple => [logprob, tokenId, null];
const tuples = (pairs: readonly (readonly [number, number])[]): LogprobTuple[] => pairs.map(([lp, id]) => tuple(lp, id));

export class LogprobGatherer {
  private input: readonly PositionLogprobs[] | null = null;
  private readonly output: PositionLogprobs[] = [];
  private asked = false;

  accept(out: CoreOutput): void {
    if (out.inputLogprobs) this.input = out.inputLogprobs;
    if (out.outputLogprobs) this.output.push(...out.outputLogprobs);
    this.asked ||= out.inputLogprobs !== undefined || out.outputLogprobs !== undefined;
  }

  /** The metaInfo fields: none unless the request asked for logprobs; top and ids lists only when asked. */
  meta(): LogprobMeta {
    if (!this.asked) return {};
    const input = this.input ?? [];
    const all = [...input, ...this.output];
    const meta: { -readonly [K in keyof LogprobMeta]: LogprobMeta[K] } = {
      inputTokenLogprobs: input.map((e) => tuple(e.logprob, e.tokenId)),
      outputTokenLogprobs: this.output.map((e) => tuple(e.logprob, e.tokenId)),
    };
    if (all.some((e) => e.top !== null)) {
      meta.inputTopLogprobs = input.map((e) => (e.top === null ? null : tuples(e.top)));
      meta.outputTopLogprobs = this.output.map((e) => tuples(e.top ?? []));
    }
    if (all.some((e) => e.ids !== null)) {
      meta.inputTokenIdsLogprobs = input.map((e) => (e.ids === null ? null : tuples(e.ids)));
      meta.outputTokenIdsLogprobs = this.output.map((e) => tuples(e.ids ?? []));
    }
    return meta;
  }
}
