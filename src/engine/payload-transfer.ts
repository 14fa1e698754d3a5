/**
 * What an image payload costs to hand to the engine's worker thread. `postMessage` clones a typed array together
 * with the whole buffer under it: a request whose embeddings are a `subarray` of one large `encodeImages` result
 * (one picture's rows of a batch's) would copy the whole batch's buffer, once per request. Measured on the H200
 * machine (bench/vlm-offline.ts's prefill phase, 512 requests each holding a view of a 64-picture buffer): 29 s of
 * cloning for 1.3 s of prefill. A view is copied here into a buffer of its own, which is then moved to the worker
 * (transferred, not cloned). A whole buffer Iris made for the request (a processor's output: the pictures' bytes or
 * patches, merged) is moved as it is, where the message is its only use (`moveWhole`: one sample; the samples of
 * n > 1 are sent one after another with one payload); a buffer the caller gave (`callerBuffers`) is cloned by
 * `postMessage` as before, so the caller's arrays are never detached. Cloning a picture's 786 KB cost ~1-3 ms of
 * the caller's thread a request (V8 profile of bench/vlm-shared-picture.ts), the thread every request is prepared on.
 */
import type { HostArray } from "../core/dtype.js";
import type { HostTensor } from "../core/host-tensor.js";
import type { MultimodalPayload } from "./protocol.js";

export interface PayloadTransfer {
  readonly mm: MultimodalPayload;
  /** Buffers made here for the message alone: moved, not cloned. */
  readonly transfer: ArrayBuffer[];
}

/** How a payload may travel: which buffers are the caller's, and whether Iris's own may be moved. */
export interface TransferRule {
  readonly callerBuffers: ReadonlySet<ArrayBufferLike>;
  readonly moveWhole: boolean;
}

/** Clone everything whole (the rule where nothing is known about the buffers). */
export const CLONE_WHOLE: TransferRule = { callerBuffers: new Set(), moveWhole: false };

/**
 * `mm` with every view of a larger buffer replaced by a compact copy, and the buffers to transfer: those copies, and
 * under `rule.moveWhole` the whole buffers that are not the caller's.
 */
export function payloadForTransfer(mm: MultimodalPayload, rule: TransferRule = CLONE_WHOLE): PayloadTransfer {
  const transfer: ArrayBuffer[] = [];
  const compact = (t: HostTensor): HostTensor => {
    if (!isPartialView(t.data)) {
      const buffer = t.data.buffer;
      if (rule.moveWhole && buffer instanceof ArrayBuffer && !rule.callerBuffers.has(buffer)) transfer.push(buffer);
      return t;
    }
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

/**
 * Every buffer under the caller's image items (decoded pixels, encoded bytes, processor outputs, embeddings): the
 * buffers a payload must never move. Walks plain objects and arrays a few levels deep; items are small objects.
 */
export function callerBuffersOf(items: unknown): Set<ArrayBufferLike> {
  const found = new Set<ArrayBufferLike>();
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== "object" || depth > 4) return;
    if (ArrayBuffer.isView(value)) found.add(value.buffer);
    else if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) found.add(value);
    else if (Array.isArray(value)) {
      // Nested number arrays (a TensorLike given as number[][]) hold no buffers: not walked number by number.
      if (typeof value[0] === "number") return;
      for (const v of value) visit(v, depth + 1);
    }
    else for (const v of Object.values(value)) visit(v, depth + 1);
  };
  visit(items, 0);
  return found;
}
