/**
 * The cuda backend's communicator: one NCCL communicator per GPU, its collectives enqueued on the device's one
 * stream (so they order with the kernels and are captured into CUDA graphs like them). The addon opens NCCL with
 * dlopen at run time (native/cuda/comm/nccl.cc), so the cuda build needs no NCCL and a machine without it gets a
 * clear error here. NVLink multicast (NVLS) stays off: NCCL_NVLS_ENABLE=0 is set before NCCL reads it.
 *
 * NCCL has no timeout of its own: a collective whose peer died spins on the GPU forever. `watch` bounds the host's
 * wait for the stream instead and, past the group's timeout, aborts the communicator (ncclCommAbort), which ends
 * the spinning kernels, and throws RANK_FAILED.
 */
import { IrisError } from "../../core/errors.js";
import type { Communicator, GroupHandle } from "../communicator.js";
import type { Device } from "../device.js";
import { Tensor } from "../tensor.js";
import { cudaAddonStatus, DTYPE_CODE, type NcclEntryPoints } from "./addon.js";
import { devicePtr as ptr } from "./storage.js";

function nccl(): NcclEntryPoints {
  process.env.NCCL_NVLS_ENABLE = "0";
  const { addon, reason } = cudaAddonStatus();
  if (addon === null) throw new IrisError("INVALID_ARGUMENT", `tensor parallelism on cuda needs the cuda addon: ${reason}`);
  const missing = addon.ncclStatus();
  if (missing !== null) throw new IrisError("INVALID_ARGUMENT", `tensor parallelism on cuda needs NCCL: ${missing}`);
  return addon;
}

/** NCCL's unique id (128 bytes), drawn once for a group and handed to every rank. */
export function ncclUniqueId(): Uint8Array {
  return nccl().ncclUniqueId();
}

export class NcclCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  private readonly api: NcclEntryPoints;
  private comm: number;
  private failure: string | null = null;

  /** Blocks until every rank joined (ncclCommInitRank); `device` must be this process's cuda device. */
  constructor(private readonly handle: Extract<GroupHandle, { kind: "cuda" }>, rank: number, private readonly device: Device) {
    if (device.kind !== "cuda") throw new IrisError("INTERNAL", `internal error: an NCCL rank on ${device.name}`);
    this.api = nccl();
    this.rank = rank;
    this.size = handle.size;
    this.comm = this.api.ncclInit(handle.ncclId, handle.size, rank);
  }

  allReduceSum(x: Tensor): void {
    this.check();
    this.api.ncclAllReduceSum(this.comm, DTYPE_CODE[x.dtype], ptr(x), ptr(x), x.numel);
  }

  allGather(out: Tensor, x: Tensor): void {
    this.check();
    if (out.numel !== x.numel * this.size) throw new IrisError("INTERNAL", `internal error: allGather of ${x} into ${out} over ${this.size} ranks`);
    this.api.ncclAllGather(this.comm, DTYPE_CODE[x.dtype], ptr(x), ptr(out), x.numel);
  }

  broadcast(x: Tensor, root: number): void {
    this.check();
    this.api.ncclBroadcast(this.comm, DTYPE_CODE[x.dtype], ptr(x), ptr(x), x.numel, root);
  }

  /** One all-reduce of a single element, waited for under the timeout. */
  async barrier(timeoutMs = this.handle.timeoutMs): Promise<void> {
    const one = new Tensor(this.device, this.device.allocate("F32", 1), [1]);
    try {
      this.allReduceSum(one);
      await this.watch(this.device.synchronize(), timeoutMs);
    } finally {
      this.device.release(one.storage);
    }
  }

  watch<T>(work: Promise<T>, timeoutMs = this.handle.timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.abort(`rank ${this.rank} waited ${timeoutMs} ms for a collective that did not finish (a peer failed or hangs)`);
        reject(this.error());
      }, timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  abort(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    if (this.comm !== 0) this.api.ncclAbort(this.comm);
    this.comm = 0;
  }

  destroy(): void {
    if (this.comm !== 0) this.api.ncclDestroy(this.comm);
    this.comm = 0;
  }

  private check(): void {
    if (this.failure !== null) throw this.error();
    const asyncError = this.api.ncclAsyncError(this.comm);
    if (asyncError !== null) {
      this.abort(`NCCL reported on rank ${this.rank}: ${asyncError}`);
      throw this.error();
    }
  }

  private error(): IrisError {
    return new IrisError("RANK_FAILED", `tensor parallelism: ${this.failure}; the engine is down, create it again`);
  }
}
