/**
 * The logprobs of a step, for the requests that ask (`returnLogprob`): rows of the step's logits are turned into
 * log-softmax rows on the device (sampled rows after penalties and masks, and at the request's temperature unless
 * greedy, as SGLang's sampler does; prompt rows from `logprobStartLen` as the model gives them), and from them only
 * the few numbers asked are kept: the logprob of the token that came next, the top `topLogprobsNum` and those of
 * `tokenIdsLogprob`. They land in buffers kept across steps (two, used in turn, so the overlap scheduler's next step
 * does not overwrite what the previous one has not read back) and are read back right behind the step's kernels.
 */
import type { PositionLogprobs } from "../core/logprobs.js";
import { cast } from "../kernels/cast.js";
import { gatherRows } from "../kernels/gather-rows.js";
import { gatherColumns, logSoftmax, topK } from "../kernels/logprobs.js";
import { scaleRows } from "../kernels/scale-rows.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { GrowingBuffer } from "./device-buffers.js";
import type { RunnerRequest } from "./runner-request.js";

/** One row whose logprobs are kept: the request, the prompt position it predicts, and its kind. */
export interface LogprobRow {
  readonly req: RunnerRequest;
  /** The position whose token this row's distribution predicts (the sampled token's for an output row). */
  readonly position: number;
}

export interface LogprobPlan {
  /** Output rows, then input rows. */
  readonly rows: readonly LogprobRow[];
  readonly outputs: number;
  /** Top logprobs per row (the most any row asks) and asked ids per row (the most any row asks). */
  readonly k: number;
  readonly g: number;
  readonly sampledIndex: Tensor;
  readonly inverseTemperature: Tensor;
  readonly inputTargets: Tensor;
  readonly askedIds: Tensor;
}

/** The step's logprobs, per request: prompt positions and the sampled token's. */
export type StepLogprobs = Map<string, { input: InputLogprobs[]; output: PositionLogprobs | null }>;
/** The logprobs of prompt position `position`. */
export type InputLogprobs = PositionLogprobs & { readonly position: number };

interface Outputs {
  readonly values: GrowingBuffer<"F32">;
  readonly ids: GrowingBuffer<"I32">;
}

export class StepLogprobsPlanner {
  private readonly sampledIndex: GrowingBuffer<"I32">;
  private readonly inverseTemperature: GrowingBuffer<"F32">;
  private readonly inputTargets: GrowingBuffer<"I32">;
  private readonly askedIds: GrowingBuffer<"I32">;
  private readonly outputs: [Outputs, Outputs];

  constructor(private readonly device: Device) {
    this.sampledIndex = new GrowingBuffer(device, "I32");
    this.inverseTemperature = new GrowingBuffer(device, "F32");
    this.inputTargets = new GrowingBuffer(device, "I32");
    this.askedIds = new GrowingBuffer(device, "I32");
    const pair = (): Outputs => ({ values: new GrowingBuffer(device, "F32"), ids: new GrowingBuffer(device, "I32") });
    this.outputs = [pair(), pair()];
  }

  /**
   * Host work: `sampled` are the step's sampled requests in logit-row order; `inputRows` the prompt rows (with the
   * position each predicts) that follow them in the logits. Null when no request of the step asks.
   */
  plan(sampled: readonly RunnerRequest[], inputRows: readonly LogprobRow[]): LogprobPlan | null {
    const outputRows: LogprobRow[] = [];
    const index: number[] = [];
    sampled.forEach((req, i) => {
      if (req.logprobs === null) return;
      // An output row's position is not needed: its token is the sampled one.
      outputRows.push({ req, position: -1 });
      index.push(i);
    });
    const rows = [...outputRows, ...inputRows];
    if (rows.length === 0) return null;
    const k = Math.max(0, ...rows.map((r) => r.req.logprobs!.topNum));
    const g = Math.max(0, ...rows.map((r) => r.req.logprobs!.tokenIds?.length ?? 0));
    const asked = new Int32Array(rows.length * g);
    rows.forEach((r, i) => asked.set(r.req.logprobs!.tokenIds ?? [], i * g));
    return {
      rows, outputs: outputRows.length, k, g,
      sampledIndex: this.sampledIndex.put(Int32Array.from(index)),
      inverseTemperature: this.inverseTemperature.put(Float32Array.from(outputRows, (r) => (r.req.sampling.greedy ? 1 : 1 / r.req.sampling.temperature))),
      inputTargets: this.inputTargets.put(Int32Array.from(inputRows, (r) => r.req.tokenAt(r.position))),
      askedIds: this.askedIds.put(asked),
    };
  }

  /** Makes room for the step's results in buffer `parity` (outside the arena: they outlive the step). */
  reserve(plan: LogprobPlan, parity: number): { values: Tensor; ids: Tensor } {
    const R = plan.rows.length;
    const out = this.outputs[parity];
    return { values: out.values.put(new Float32Array(R * (1 + plan.g + plan.k))), ids: out.ids.put(new Int32Array(Math.max(1, R * plan.k))) };
  }

  /**
   * Enqueues the kernels (inside the step's arena): `sampledLogits` F32 [B, V] as sampled (penalized, masked),
   * `inputLogits` [inputs, V] of any float type, `tokens` I32 [B] the sampled tokens.
   */
  launch(plan: LogprobPlan, sampledLogits: Tensor | null, inputLogits: Tensor | null, tokens: Tensor | null, into: { values: Tensor; ids: Tensor }): void {
    const R = plan.rows.length;
    const { k, g } = plan;
    const put = (rows: Tensor, chosen: Tensor, at: number) => {
      const n = rows.shape[0];
      const logprobs = logSoftmax(rows, rows);
      gatherColumns(logprobs, chosen, into.values.narrow(at, n).view([n, 1]));
      if (g > 0) gatherColumns(logprobs, plan.askedIds.narrow(at * g, n * g).view([n, g]), into.values.narrow(R + at * g, n * g).view([n, g]));
      if (k > 0) topK(logprobs, k, { values: into.values.narrow(R * (1 + g) + at * k, n * k).view([n, k]), ids: into.ids.narrow(at * k, n * k).view([n, k]) });
    };
    if (plan.outputs > 0) {
      const rows = gatherRows(sampledLogits!, plan.sampledIndex);
      scaleRows(rows, plan.inverseTemperature, rows);
      put(rows, gatherRows(tokens!.view([-1, 1]), plan.sampledIndex), 0);
    }
    const inputs = R - plan.outputs;
    // The input rows are the step's own logits, read by nothing else: widened (or kept) and log-softmaxed in place.
    if (inputs > 0) put(cast(inputLogits!, "F32"), plan.inputTargets.view([inputs, 1]), plan.outputs);
  }

  /** The step's results from its read-back of `reserve`'s tensors; `tokens` are its sampled tokens in logit-row order. */
  collect(plan: LogprobPlan, [values, ids]: readonly [Float32Array, Int32Array], tokens: Int32Array, sampled: readonly RunnerRequest[]): StepLogprobs {
    const R = plan.rows.length;
    const { k, g } = plan;
    const result: StepLogprobs = new Map();
    plan.rows.forEach((row, i) => {
      const spec = row.req.logprobs!;
      const top = spec.topNum > 0 ? Array.from({ length: spec.topNum }, (_, j) => [values[R * (1 + g) + i * k + j], ids[i * k + j]] as const) : null;
      const asked = spec.tokenIds ? spec.tokenIds.map((id, j) => [values[R + i * g + j], id] as const) : null;
      const isOutput = i < plan.outputs;
      const tokenId = isOutput ? tokens[sampled.indexOf(row.req)] : row.req.tokenAt(row.position);
      const entry: PositionLogprobs = { logprob: values[i], tokenId, top, ids: asked };
      let mine = result.get(row.req.id);
      if (!mine) result.set(row.req.id, (mine = { input: [], output: null }));
      if (isOutput) mine.output = entry;
      else mine.input.push({ ...entry, position: row.position });
    });
    return result;
  }
}
