/**
 * One rank of a cpu communicator group in a worker thread, running a named scenario of the communicator tests and
 * posting what it saw (values, or the error it got).
 */
import { parentPort, workerData } from "node:worker_threads";
import { isIrisError } from "../../src/core/errors.js";
import { downloadFloat32, downloadInt32, fromHost } from "../../src/runtime/creation.js";
import type { GroupHandle } from "../../src/runtime/communicator.js";
import { cpuDevice, joinGroup } from "../../src/runtime/device.js";
import { Embedding } from "../../src/layers/embedding.js";
import { LMHead } from "../../src/layers/lm-head.js";
import { Parameters } from "../../src/layers/parameters.js";
import { valueOf, type Scenario } from "./comm-values.js";

const { handle, rank, scenario, length } = workerData as { handle: GroupHandle; rank: number; scenario: Scenario; length: number };
const device = cpuDevice();
const comm = joinGroup(handle, rank, device);

async function run(): Promise<unknown> {
  if (scenario === "collectives") {
    const mine = Float32Array.from({ length }, (_, i) => valueOf(rank, i));
    const sum = fromHost(device, mine);
    comm.allReduceSum(sum);
    const gathered = fromHost(device, new Float32Array(length * comm.size));
    comm.allGather(gathered, fromHost(device, mine));
    const ids = fromHost(device, Int32Array.from({ length: 5 }, (_, i) => (rank === 1 ? 100 + i : -1)), { dtype: "I32" });
    comm.broadcast(ids, 1);
    await comm.barrier();
    return { sum: await downloadFloat32(sum), gathered: await downloadFloat32(gathered), ids: Array.from(await downloadInt32(ids)) };
  }
  if (scenario === "vocab") {
    // A vocabulary of 10 over 3 ranks: blocks of 4, the last one 2 rows and 2 of padding.
    const V = 10, H = 3;
    const params = new Parameters(device);
    const embed = new Embedding(params, "embed", V, H, comm);
    const head = new LMHead(params, "head", null, V, H, comm);
    for (const table of [embed.table, head.weight]) {
      const rows = table.shape[0];
      const host = Float32Array.from({ length: rows * H }, (_, k) => {
        const id = embed.start + Math.floor(k / H);
        return id < V ? id * 10 + (k % H) : 0;
      });
      device.backend.upload(table, host);
    }
    const x = embed.forward(fromHost(device, Int32Array.from([9, 0, 4, 7]), { dtype: "I32" }));
    return { embeddings: Array.from(await downloadFloat32(x)), logits: Array.from(await downloadFloat32(head.forward(x))) };
  }
  if (scenario === "abort" && rank === 1) {
    comm.abort("rank 1 exploded");
    return "aborted";
  }
  if ((scenario === "timeout" || scenario === "barrier") && rank === 1) return "stayed away";
  if (scenario === "barrier") {
    await comm.barrier(300);
    return "no error";
  }
  comm.allReduceSum(fromHost(device, new Float32Array(4)));
  return "no error";
}

run().then(
  (result) => parentPort!.postMessage({ result }),
  (err) => parentPort!.postMessage({ error: { code: isIrisError(err) ? err.code : "other", message: (err as Error).message } }),
);
