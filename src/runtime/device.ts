import { IrisError } from "../core/errors.js";
import type { Arena, Backend } from "./backend.js";
import { DEFAULT_COLLECTIVE_TIMEOUT_MS, type Communicator, type GroupHandle } from "./communicator.js";
import { CpuBackend } from "./cpu/cpu-backend.js";
import { CpuCommunicator, cpuGroupBuffer } from "./cpu/cpu-communicator.js";
import { NcclCommunicator, ncclUniqueId } from "./cuda/nccl-communicator.js";
import { createCudaBackend } from "./cuda/cuda-backend.js";
import type { DeviceKind } from "./device-kind.js";
import type { TensorDType } from "./dtype.js";
import type { Storage } from "./tensor.js";

export type { DeviceKind } from "./device-kind.js";

/**
 * A place where tensors live and kernels run. It owns one `Backend`; models reach kernels only through
 * `tensor.device.backend`, so nothing above the runtime knows which backend runs.
 */
export class Device {
  readonly kind: DeviceKind;
  readonly index: number;
  readonly backend: Backend;
  /** Where new tensors come from while a step runs; null: the general allocator. */
  private arena: Arena | null = null;

  constructor(kind: DeviceKind, index: number, backend: Backend) {
    this.kind = kind;
    this.index = index;
    this.backend = backend;
  }

  /** "cpu" or "cuda:0". */
  get name(): string {
    return this.kind === "cpu" ? "cpu" : `${this.kind}:${this.index}`;
  }

  /** The dtype activations and widened weights use here (F32 on cpu). */
  get floatDType(): TensorDType {
    return this.backend.floatDType;
  }

  /** Storage for `length` elements; contents undefined. */
  allocate(dtype: TensorDType, length: number): Storage {
    if (!this.backend.supportsDType(dtype)) {
      throw new IrisError("INVALID_ARGUMENT", `the ${this.name} device has no ${dtype} tensors (its float type is ${this.floatDType})`);
    }
    return this.arena !== null ? this.arena.allocate(dtype, length) : this.backend.allocate(dtype, length);
  }

  /** Runs `fn` with every tensor it creates on this device drawn from `arena` (a step's intermediates). */
  inArena<T>(arena: Arena, fn: () => T): T {
    return this.drawingFrom(arena, fn);
  }

  /** Runs `fn` with new tensors from the general allocator, inside an arena scope too (memory that outlives a step). */
  outsideArena<T>(fn: () => T): T {
    return this.drawingFrom(null, fn);
  }

  /**
   * Runs `fn` and gives back the arena memory it drew (nothing happens outside an arena): a layer's scratch is free
   * for the next layer, so a step needs one layer's intermediates, not all of them. The result must live in
   * memory drawn before `fn` (a residual stream updated in place), never in what `fn` drew.
   */
  scratch(fn: () => void): void {
    const arena = this.arena;
    if (arena === null) return fn();
    const mark = arena.mark();
    try {
      fn();
    } finally {
      arena.rewind(mark);
    }
  }

  release(storage: Storage): void {
    this.backend.release(storage);
  }

  /** Resolves once every kernel enqueued on this device has finished. */
  synchronize(): Promise<void> {
    return this.backend.synchronize();
  }

  private drawingFrom<T>(arena: Arena | null, fn: () => T): T {
    const outer = this.arena;
    this.arena = arena;
    try {
      return fn();
    } finally {
      this.arena = outer;
    }
  }

  toString(): string {
    return this.name;
  }
}

type BackendFactory = (index: number) => Backend;

// Each backend's constructor; the cuda one loads its addon only when a cuda device is first asked for, and throws
// an IrisError saying why when the addon or the GPU is missing.
const factories = new Map<DeviceKind, BackendFactory>([["cpu", () => new CpuBackend()], ["cuda", createCudaBackend]]);
const devices = new Map<string, Device>();

/** Makes a backend available under `kind`, replacing the built-in one (tests, other builds). */
export function registerBackend(kind: DeviceKind, factory: BackendFactory): void {
  factories.set(kind, factory);
}

/** The device of that kind and index; one instance per device, created on first use. */
export function getDevice(kind: DeviceKind = "cpu", index = 0): Device {
  const key = `${kind}:${index}`;
  let device = devices.get(key);
  if (device === undefined) {
    const factory = factories.get(kind);
    if (factory === undefined) {
      throw new IrisError("INVALID_ARGUMENT", `no ${kind} backend is available in this build; use the cpu device or build the native addon`);
    }
    if (kind === "cpu" && index !== 0) throw new IrisError("INVALID_ARGUMENT", `there is one cpu device (index 0), not ${index}`);
    device = new Device(kind, index, factory(index));
    devices.set(key, device);
  }
  return device;
}

export function cpuDevice(): Device {
  return getDevice("cpu", 0);
}

/**
 * A new tensor-parallel group of `size` ranks on devices of `kind`: the handle each rank joins it with (shared memory
 * on cpu; on cuda also NCCL's unique id, drawn here).
 */
export function createGroupHandle(kind: DeviceKind, size: number, timeoutMs = DEFAULT_COLLECTIVE_TIMEOUT_MS): GroupHandle {
  if (kind === "cpu") return { kind, size, timeoutMs, shared: cpuGroupBuffer(size) };
  return { kind, size, timeoutMs, ncclId: ncclUniqueId() };
}

/** This thread's rank of the group, on `device` (the rank's own device: cuda:rank). */
export function joinGroup(handle: GroupHandle, rank: number, device: Device): Communicator {
  if (handle.kind !== device.kind) throw new IrisError("INTERNAL", `internal error: a ${handle.kind} group joined from ${device.name}`);
  if (handle.kind === "cpu") return new CpuCommunicator(handle.shared, rank, handle.size, handle.timeoutMs);
  return new NcclCommunicator(handle, rank, device);
}
