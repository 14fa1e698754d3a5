/**
 * A backend wrapper that counts what the code above it asks of a device: kernel calls, allocations from the general
 * allocator and from arenas (with their offsets), uploads, downloads. Tests assert with it the properties a GPU
 * needs (a warmed-up decode step allocates nothing and replays the same arena offsets), as tinygrad's null device
 * serves its tests. Everything is passed through to the wrapped backend unchanged.
 */
import { DTYPE_BYTES } from "../core/dtype.js";
import type { Arena, Backend } from "./backend.js";
import type { TensorDType } from "./dtype.js";
import type { Storage, Tensor } from "./tensor.js";

export interface ArenaAllocation {
  /** Bytes drawn before this one: its offset in the arena's stack. */
  readonly offset: number;
  readonly dtype: TensorDType;
  readonly length: number;
}

/** What was asked since the last `reset`. */
export class BackendCounter {
  /** Calls per backend method (kernels and memory operations alike). */
  calls = new Map<string, number>();
  generalAllocations = 0;
  generalBytes = 0;
  arenaAllocations: ArenaAllocation[] = [];
  uploads = 0;
  /** Uploads into storage allocated since the last reset (a fresh tensor per step, or an arena's). */
  uploadsIntoNewStorage = 0;
  downloads = 0;
  private fresh = new WeakSet<Storage>();

  reset(): void {
    this.calls = new Map();
    this.generalAllocations = 0;
    this.generalBytes = 0;
    this.arenaAllocations = [];
    this.uploads = 0;
    this.uploadsIntoNewStorage = 0;
    this.downloads = 0;
    this.fresh = new WeakSet();
  }

  /** Calls of the kernels (memory operations left out). */
  kernelCalls(): number {
    let n = 0;
    for (const [name, count] of this.calls) if (!MEMORY_METHODS.has(name)) n += count;
    return n;
  }

  /** @internal the wrapper's hooks */
  onCall(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  onGeneralAllocation(storage: Storage, bytes: number): void {
    this.generalAllocations++;
    this.generalBytes += bytes;
    this.fresh.add(storage);
  }

  onArenaAllocation(storage: Storage, allocation: ArenaAllocation): void {
    this.arenaAllocations.push(allocation);
    this.fresh.add(storage);
  }

  onUpload(dst: Tensor): void {
    this.uploads++;
    if (this.fresh.has(dst.storage)) this.uploadsIntoNewStorage++;
  }
}

const MEMORY_METHODS = new Set(["allocate", "release", "upload", "download", "synchronize", "createArena", "memoryStats", "supportsDType"]);

function countingArena(inner: Arena, counter: BackendCounter): Arena {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== "allocate" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (dtype: TensorDType, length: number) => {
        const offset = target.usedBytes;
        const storage = target.allocate(dtype, length);
        counter.onArenaAllocation(storage, { offset, dtype, length });
        return storage;
      };
    },
  });
}

/** `inner` with every call counted into the returned counter. */
export function countingBackend(inner: Backend): { backend: Backend; counter: BackendCounter } {
  const counter = new BackendCounter();
  const backend = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        counter.onCall(prop);
        if (prop === "upload") counter.onUpload(args[0] as Tensor);
        if (prop === "download") counter.downloads++;
        const result = method.apply(target, args);
        if (prop === "allocate") counter.onGeneralAllocation(result as Storage, DTYPE_BYTES[args[0] as TensorDType] * (args[1] as number));
        return prop === "createArena" ? countingArena(result as Arena, counter) : result;
      };
    },
  });
  return { backend, counter };
}
