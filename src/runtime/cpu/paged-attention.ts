import { IrisError } from "../../core/errors.js";
import type { PagedAttentionMeta, PagedAttentionOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { attendGroup, KEYS, Scratch, VALUES } from "./attention-core.js";
import { checkIndex, f32, i32 } from "./storage.js";

const scratch = new Scratch();

export function storeKV(k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor, slotMapping: Tensor): void {
  const ka = f32(k), va = f32(v), kc = f32(kCache), vc = f32(vCache), slots = i32(slotMapping);
  const row = k.numel === 0 ? 0 : k.numel / k.shape[0];
  const numSlots = kCache.shape[0];
  for (let t = 0; t < slots.length; t++) if (slots[t] >= 0) checkIndex("storeKV", "slot", slots[t], numSlots);
  for (let t = 0; t < slots.length; t++) {
    const slot = slots[t];
    if (slot < 0) continue;
    kc.set(ka.subarray(t * row, (t + 1) * row), slot * row);
    vc.set(va.subarray(t * row, (t + 1) * row), slot * row);
  }
}

/** Gathers the keys (or values) of one KV head of one sequence, positions from .. to-1, from the paged cache. */
function gatherHead(dst: Float32Array, cache: Float32Array, pages: Int32Array, pageSize: number, from: number, to: number,
  heads: number, head: number, D: number, numPages: number): void {
  for (let pos = from; pos < to; pos++) {
    const page = pages[Math.floor(pos / pageSize)];
    checkIndex("pagedAttention", "page", page, numPages);
    const src = ((page * pageSize + (pos % pageSize)) * heads + head) * D;
    dst.set(cache.subarray(src, src + D), (pos - from) * D);
  }
}

export function pagedAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, meta: PagedAttentionMeta,
  options: PagedAttentionOptions): void {
  const o = f32(out), qa = f32(q), kc = f32(kCache), vc = f32(vCache);
  const starts = i32(meta.queryStart), kvLens = i32(meta.kvLens), table = i32(meta.pageTable);
  const Hq = q.shape[1], Hk = kCache.shape[1], D = q.shape[2], group = Hq / Hk;
  const S = meta.pageTable.shape[0], maxPages = meta.pageTable.shape[1], pageSize = meta.pageSize;
  const numPages = kCache.shape[0] / pageSize;
  const chunk = options.chunkSize;
  if (starts[0] !== 0 || starts[S] !== q.shape[0]) {
    throw new IrisError("INVALID_ARGUMENT", `pagedAttention: queryStart must run from 0 to ${q.shape[0]}, got ${starts[0]} .. ${starts[S]}`);
  }
  for (let s = 0; s < S; s++) {
    const first = starts[s], qLen = starts[s + 1] - first, kvLen = kvLens[s];
    if (qLen < 0 || qLen > kvLen || kvLen > maxPages * pageSize) {
      throw new IrisError("INVALID_ARGUMENT",
        `pagedAttention: sequence ${s} has ${qLen} queries and ${kvLen} keys (at most ${maxPages * pageSize} fit its page table)`);
    }
    if (qLen === 0) continue;
    const pages = table.subarray(s * maxPages, (s + 1) * maxPages);
    const offset = kvLen - qLen;
    // Keys before the chunk of the first query are never seen: gather from there (positions shift by `from`).
    const from = chunk === undefined ? 0 : offset - (offset % chunk);
    const range = (i: number, b: Int32Array) => {
      const pos = offset + i;
      b[0] = (chunk === undefined ? 0 : pos - (pos % chunk)) - from;
      b[1] = pos + 1 - from;
    };
    for (let kv = 0; kv < Hk; kv++) {
      const keys = scratch.get(KEYS, (kvLen - from) * D), values = scratch.get(VALUES, (kvLen - from) * D);
      gatherHead(keys, kc, pages, pageSize, from, kvLen, Hk, kv, D, numPages);
      gatherHead(values, vc, pages, pageSize, from, kvLen, Hk, kv, D, numPages);
      attendGroup(o, qa, keys, values, { firstRow: first, rows: qLen }, { kv, group, qHeads: Hq, D }, range, options.scale, scratch);
    }
  }
}
