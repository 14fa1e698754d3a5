import type { PagedAttentionMeta, PagedAttentionOptions } from "../runtime/backend.js";
import type { Tensor } from "../runtime/tensor.js";
import { expectCondition, expectDType, expectNoOverlap, expectRank, expectSameFloat, expectShape, output, sameDevice } from "./check.js";

const isCount = (n: number) => Number.isInteger(n) && n >= 0;

/**
 * Attention of q [T, Hq, D] over the paged caches [numSlots, Hk, D] for a batch of sequences (prefill, cached or
 * chunked prefill and decode mixed): query i of a sequence with qLen queries and kvLen keys sits at position
 * kvLen - qLen + i and sees keys at positions <= its own, only those of its chunk with `chunkSize`. This step's
 * keys must already be stored (`storeKV`). Returns [T, Hq, D].
 */
export function pagedAttention(q: Tensor, kCache: Tensor, vCache: Tensor, meta: PagedAttentionMeta,
  options: PagedAttentionOptions, out?: Tensor): Tensor {
  const kernel = "pagedAttention";
  const { queryStart, kvLens, pageTable, pageSize } = meta;
  const device = sameDevice(kernel, { q, kCache, vCache, queryStart, kvLens, pageTable, out });
  expectSameFloat(kernel, ["q", q], { kCache, vCache });
  expectRank(kernel, "q", q, 3);
  expectShape(kernel, "kCache", kCache, ["numSlots", "Hk", q.shape[2]]);
  expectShape(kernel, "vCache", vCache, kCache.shape);
  const Hk = kCache.shape[1];
  expectCondition(kernel, Hk > 0 && q.shape[1] % Hk === 0, `q heads (${q.shape[1]}) must be a multiple of kv heads (${Hk})`);
  expectCondition(kernel, Number.isInteger(pageSize) && pageSize > 0, `pageSize must be a positive integer, got ${pageSize}`);
  expectCondition(kernel, kCache.shape[0] % pageSize === 0, `the cache's ${kCache.shape[0]} slots are not whole pages of ${pageSize}`);
  expectDType(kernel, "pageTable", pageTable, "I32");
  expectRank(kernel, "pageTable", pageTable, 2);
  const S = pageTable.shape[0];
  expectDType(kernel, "queryStart", queryStart, "I32");
  expectShape(kernel, "queryStart", queryStart, [S + 1]);
  expectDType(kernel, "kvLens", kvLens, "I32");
  expectShape(kernel, "kvLens", kvLens, [S]);
  expectCondition(kernel, isCount(meta.maxQueryLen) && isCount(meta.maxKvLen), "maxQueryLen and maxKvLen must be non-negative integers");
  const chunk = options.chunkSize;
  expectCondition(kernel, chunk === undefined || (Number.isInteger(chunk) && chunk > 0), `chunkSize must be a positive integer, got ${chunk}`);
  expectCondition(kernel, Number.isFinite(options.scale), `scale must be finite, got ${options.scale}`);
  const result = output(kernel, device, out, q.shape, q.dtype);
  expectNoOverlap(kernel, result, { q, kCache, vCache });
  device.backend.pagedAttention(result, q, kCache, vCache, meta, options);
  return result;
}
