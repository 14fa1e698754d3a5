import { checkArgument } from "../core/errors.js";

export interface NewTokenRatioOptions {
  /** Ratio after start and after every retraction (SGLang `SGLANG_INIT_NEW_TOKEN_RATIO`, 0.7). */
  readonly initial?: number;
  /** Floor of the decay (SGLang: initial x `SGLANG_MIN_NEW_TOKEN_RATIO_FACTOR` 0.14). */
  readonly min?: number;
  /** Steps to decay from `initial` to `min` (SGLang `SGLANG_NEW_TOKEN_RATIO_DECAY_STEPS`, 600). */
  readonly decaySteps?: number;
  /** Remaining new tokens counted per request at most (SGLang `SGLANG_CLIP_MAX_NEW_TOKENS_ESTIMATION`, 4096). */
  readonly clipNewTokens?: number;
}

/**
 * SGLang's new-token ratio: the fraction of a request's remaining `maxNewTokens` that admission reserves KV
 * pages for. Most requests stop well before their limit, so reserving all of it would leave memory idle;
 * reserving none would make every admission a retraction later. The ratio starts cautious, decays a little each
 * step that runs without a retraction (so admission grows bolder while decodes fit), and jumps back to the start
 * value whenever a retraction shows the estimate was too bold. Retraction keeps the engine safe either way.
 */
export class NewTokenRatio {
  readonly initial: number;
  readonly min: number;
  private readonly decayPerStep: number;
  private readonly clipNewTokens: number;
  private ratio: number;

  constructor(options: NewTokenRatioOptions = {}) {
    this.initial = options.initial ?? 0.7;
    this.min = options.min ?? this.initial * 0.14;
    const decaySteps = options.decaySteps ?? 600;
    this.clipNewTokens = options.clipNewTokens ?? 4096;
    checkArgument(this.initial >= 0 && this.initial <= 1, `newTokenRatio.initial must be in [0, 1], got ${this.initial}`);
    checkArgument(this.min >= 0 && this.min <= this.initial, `newTokenRatio.min must be in [0, initial], got ${this.min}`);
    checkArgument(decaySteps > 0, `newTokenRatio.decaySteps must be positive, got ${decaySteps}`);
    checkArgument(this.clipNewTokens >= 0, `newTokenRatio.clipNewTokens must be >= 0, got ${this.clipNewTokens}`);
    this.decayPerStep = (this.initial - this.min) / decaySteps;
    this.ratio = this.initial;
  }

  get current(): number {
    return this.ratio;
  }

  /** Tokens of KV a request is expected to need in all: what it has now plus the expected share of the rest. */
  expectedTokens(currentTokens: number, remainingNewTokens: number): number {
    return currentTokens + Math.ceil(this.ratio * Math.min(remainingNewTokens, this.clipNewTokens));
  }

  /** Called once per scheduled step: decays after a calm step, resets after one that retracted. */
  onStep(retracted: boolean): void {
    this.ratio = retracted ? this.initial : Math.max(this.min, this.ratio - this.decayPerStep);
  }
}
