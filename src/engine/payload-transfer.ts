/**
 * What an image payload costs to hand to the engine's worker thread. `postMessage` clones a typed array together
 * with the whole buffer under it: a request whose embeddings are a `subarray` of one large `encodeImages` result
 * (one picture's rows of a batch's) would copy the whole batch's buffer, once per request. Measured on the H200
 * machine (bench/vlm-offline.ts's prefill phase, 512 requests each holding a view of a 64-picture buffer): 29 s of
 * cloning for 1.3 s of prefill. A view is copied here into a buffer of its own, which is then moved to the worker
 * (transferred, not cloned); a tensor that owns its whole buffer is cloned by `postMessage` as before, so the
 * caller's arrays are never detached.
 */
import type { HostArray } from "../core/dtype.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload } from "./protocol.js";

export interface PayloadTransfer {
  readonly mm: MultimodalPayload;
  /** Buffers made here for the message alone: moved, not cloned. */
  readonly transfer: ArrayBuffer[];
}

/** `mm` with every view of a larger buffer replaced by a compact copy, and those copies to transfer. */
export function payloadForTransfer(mm: MultimodalPayload): PayloadTransfer {
  const transfer: ArrayBuffer[] = [];
  const compact = (t: HostTensor): HostTensor => {
    if (!isPartialView(t.data)) return t;
    const data = t.data.slice() as HostArray;
    transfer.push(data.buffer as ArrayBuffer);
    return { ...t, data };
  };
  if (mm.kind === "pixels") return { mm: { ...mm, pixelValues: compact(mm.pixelValues) }, transfer };
  if (mm.kind === "rgb8") return { mm: { ...mm, pixels: compact(mm.pixels) }, transfer };
  return { mm: { ...mm, embeddings: compact(mm.embeddings) }, transfer };
}

/** Whether the array sees only part of its buffer (SharedArrayBuffers are shared, never copied: left alone). */
function isPartialView(data: HostArray): boolean {
  if (!(data.buffer instanceof ArrayBuffer)) return false;
  return data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength;
}
