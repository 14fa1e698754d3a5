import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectNoOverlap, expectRank, output, sameDevice } from "./check.js";

/** Token embeddings: out [T, H] = table[ids[t]] for ids I32 [T], table [V, H]. */
export function embedding(ids: Tensor, table: Tensor, out?: Tensor): Tensor {
  const result = lookupOutput("embedding", ids, table, out);
  result.device.backend.embedding(result, ids, table);
  return result;
}

/**
 * A vocabulary shard's embeddings (tensor parallelism): out [T, H] = table[ids[t] - start] for the ids this rank's
 * rows [start, start + R) hold, zeros for the others; the ranks' outputs summed give `embedding` of the whole table.
 */
export function embeddingShard(ids: Tensor, table: Tensor, start: number, out?: Tensor): Tensor {
  const result = lookupOutput("embeddingShard", ids, table, out);
  result.device.backend.embeddingShard(result, ids, table, start);
  return result;
}

/** Checks ids I32 [T] and a float table [V, H]; the output [T, H] (`out`, or a new tensor). */
function lookupOutput(kernel: string, ids: Tensor, table: Tensor, out?: Tensor): Tensor {
  const device = sameDevice(kernel, { ids, table, out });
  expectDType(kernel, "ids", ids, "I32");
  expectRank(kernel, "ids", ids, 1);
  expectDType(kernel, "table", table, "float");
  expectRank(kernel, "table", table, 2);
  const result = output(kernel, device, out, [ids.shape[0], table.shape[1]], table.dtype);
  expectNoOverlap(kernel, result, { table });
  return result;
}
