/**
 * Structured output's masks of a step: each constrained row's bitmask (from its grammar, computed on the host after
 * its previous token) copied into a device buffer kept across steps, with the logit row it applies to. The buffer
 * is allocated for `maxRows` rows at the first constrained step, so later steps upload into it and allocate nothing.
 */
import { IrisError } from "../core/errors.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { StagedBuffer } from "./device-buffers.js";
import type { RunnerRequest } from "./runner-request.js";

export interface TokenMaskPlan {
  /** I32 [M, ceil(V / 32)] */
  readonly bitmask: Tensor;
  /** I32 [M]: the logit row of each mask row. */
  readonly rows: Tensor;
}

export class TokenMasks {
  readonly words: number;
  private buffers: { bitmask: StagedBuffer<"I32">; rows: StagedBuffer<"I32"> } | null = null;

  constructor(private readonly device: Device, private readonly maxRows: number, vocab: number) {
    this.words = Math.ceil(vocab / 32);
  }

  /** Stages the masks of the constrained rows among `rows` (in logit-row order); null when there are none. */
  prepare(rows: readonly RunnerRequest[]): TokenMaskPlan | null {
    if (!rows.some((r) => r.constrained)) return null;
    this.buffers ??= { bitmask: new StagedBuffer(this.device, "I32", this.maxRows * this.words), rows: new StagedBuffer(this.device, "I32", this.maxRows) };
    const { bitmask, rows: rowIndex } = this.buffers;
    let M = 0;
    rows.forEach((r, row) => {
      if (!r.constrained) return;
      const mask = r.tokenMask();
      if (mask === null || mask.length !== this.words) {
        throw new IrisError("INTERNAL", `internal error: request ${r.id} samples without its grammar's mask for this token`);
      }
      bitmask.host.set(mask, M * this.words);
      rowIndex.host[M++] = row;
    });
    return { bitmask: bitmask.put(M * this.words).view([M, this.words]), rows: rowIndex.put(M) };
  }
}
