/**
 * The `Arena` of every backend: a stack of aligned sub-ranges of one block. A backend supplies only how to take a
 * block and how to view part of it as a storage; the bookkeeping (offsets, liveness, overflow, growth) is here, so
 * every backend hands out the same offsets for the same sequence of requests.
 */
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import type { Arena } from "./backend.js";
import type { TensorDType } from "./dtype.js";
import type { Storage } from "./tensor.js";

/** Storages start on this boundary: wide vector loads and tensor-core tiles want 256-byte alignment. */
export const ARENA_ALIGNMENT = 256;

/** The lifetime of one arena storage: false once the arena gave the range back. */
export class ArenaLease {
  alive = true;
}

export interface ArenaBlocks<Block> {
  allocateBlock(bytes: number): Block;
  releaseBlock(block: Block): void;
  /** A storage over `length` elements of `dtype` at `byteOffset` of `block`, alive while `lease` is. */
  view(block: Block, byteOffset: number, dtype: TensorDType, length: number, lease: ArenaLease): Storage;
}

interface Drawn<Block> {
  readonly lease: ArenaLease;
  /** The stack's top before this storage, restored when it is given back. */
  readonly topBefore: number;
  readonly bytes: number;
  /** A block of its own when the main block was full. */
  readonly overflow: Block | null;
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;
}

export class StackArena<Block> implements Arena {
  private block: Block | null;
  private capacity: number;
  private top = 0;
  private overflowBytes = 0;
  private peak = 0;
  private readonly drawn: Drawn<Block>[] = [];

  constructor(private readonly blocks: ArenaBlocks<Block>, capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 0) {
      throw new IrisError("INVALID_ARGUMENT", `an arena's capacity must be a non-negative integer of bytes, got ${capacityBytes}`);
    }
    this.capacity = alignUp(capacityBytes);
    this.block = blocks.allocateBlock(this.capacity);
  }

  get capacityBytes(): number {
    return this.capacity;
  }

  get usedBytes(): number {
    return this.top + this.overflowBytes;
  }

  get peakBytes(): number {
    return this.peak;
  }

  allocate(dtype: TensorDType, length: number): Storage {
    const block = this.live();
    const bytes = alignUp(length * DTYPE_BYTES[dtype]);
    const lease = new ArenaLease();
    let storage: Storage;
    let overflow: Block | null = null;
    if (this.top + bytes <= this.capacity) {
      storage = this.blocks.view(block, this.top, dtype, length, lease);
      this.drawn.push({ lease, topBefore: this.top, bytes, overflow });
      this.top += bytes;
    } else {
      // Full: this step still runs, on a block of its own; `reset` then grows the main block to the peak.
      overflow = this.blocks.allocateBlock(bytes);
      storage = this.blocks.view(overflow, 0, dtype, length, lease);
      this.drawn.push({ lease, topBefore: this.top, bytes, overflow });
      this.overflowBytes += bytes;
    }
    this.peak = Math.max(this.peak, this.usedBytes);
    return storage;
  }

  mark(): number {
    return this.drawn.length;
  }

  rewind(mark: number): void {
    this.live();
    if (!Number.isInteger(mark) || mark < 0 || mark > this.drawn.length) {
      throw new IrisError("INTERNAL", `internal error: arena mark ${mark} is not on the stack (${this.drawn.length} storages)`);
    }
    while (this.drawn.length > mark) {
      const d = this.drawn.pop()!;
      d.lease.alive = false;
      if (d.overflow !== null) {
        this.blocks.releaseBlock(d.overflow);
        this.overflowBytes -= d.bytes;
      } else {
        this.top = d.topBefore;
      }
    }
  }

  reset(): void {
    this.rewind(0);
    if (this.peak > this.capacity) {
      this.blocks.releaseBlock(this.live());
      this.capacity = this.peak;
      this.block = this.blocks.allocateBlock(this.capacity);
    }
  }

  destroy(): void {
    if (this.block === null) return;
    this.rewind(0);
    this.blocks.releaseBlock(this.block);
    this.block = null;
  }

  private live(): Block {
    if (this.block === null) throw new IrisError("INTERNAL", "internal error: the arena was destroyed");
    return this.block;
  }
}
