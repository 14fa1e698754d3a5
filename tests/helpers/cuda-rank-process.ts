/**
 * One rank of a cuda tensor-parallel group, as its own process (the cuda addon drives one device per process), for
 * tests/cuda/tensor-parallel.test.ts: joins the NCCL group on cuda:rank, checks the collectives, loads its shard of a
 * tiny fixture model and writes each case's first logits to `<out>/rank<r>-<case>.f32`.
 *
 *   node --import tsx tests/helpers/cuda-rank-process.ts '<json: { ncclId (base64), rank, size, layout, fixture, out }>'
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toNumbers } from "../../src/core/host-tensor.js";
import { downloadFloat32, fromHost } from "../../src/runtime/creation.js";
import { getDevice, joinGroup } from "../../src/runtime/device.js";
import { loadCases, loadCaseTensors, type FixtureModel } from "./fixtures.js";
import { loadFixtureModel, promptLogits } from "./model-harness.js";

const job = JSON.parse(process.argv[2]) as { ncclId: string; rank: number; size: number; layout: string; fixture: FixtureModel; out: string };
const device = getDevice("cuda", job.rank);
const comm = joinGroup({ kind: "cuda", size: job.size, timeoutMs: 120_000, ncclId: new Uint8Array(Buffer.from(job.ncclId, "base64")) }, job.rank, device);

// The collectives themselves: every rank's part known to every rank.
const sum = fromHost(device, Float32Array.from({ length: 1000 }, (_, i) => job.rank + i), { dtype: "F32" });
comm.allReduceSum(sum);
const gathered = fromHost(device, new Int32Array(4 * job.size), { dtype: "I32" });
comm.allGather(gathered, fromHost(device, Int32Array.from({ length: 4 }, (_, i) => 10 * job.rank + i), { dtype: "I32" }));
const tokens = fromHost(device, Int32Array.from({ length: 3 }, (_, i) => (job.rank === 0 ? 7 + i : -1)), { dtype: "I32" });
comm.broadcast(tokens, 0);
await comm.barrier();
const expectedSum = (i: number) => (job.size * (job.size - 1)) / 2 + job.size * i;
const sums = await downloadFloat32(sum);
const bad = [...sums].findIndex((v, i) => v !== expectedSum(i));
if (bad >= 0) throw new Error(`rank ${job.rank}: all-reduce element ${bad} is ${sums[bad]}, expected ${expectedSum(bad)}`);
const gatheredIds = Array.from(await import("../../src/runtime/creation.js").then((m) => m.downloadInt32(gathered)));
const wanted = Array.from({ length: 4 * job.size }, (_, k) => 10 * Math.floor(k / 4) + (k % 4));
if (gatheredIds.join() !== wanted.join()) throw new Error(`rank ${job.rank}: all-gather gave ${gatheredIds}, expected ${wanted}`);

const { model } = loadFixtureModel(job.layout, device, comm);
for (const c of loadCases(job.fixture)) {
  const ref = loadCaseTensors(job.fixture, c.name);
  const ids = Int32Array.from(toNumbers(ref.input_ids));
  const L = ids.length;
  let positions = Int32Array.from(ids.keys());
  if (job.fixture === "tiny-qwen2_5-vl") {
    const pos = toNumbers(ref.position_ids);
    positions = Int32Array.from({ length: L * 3 }, (_, i) => pos[(i % 3) * L + Math.floor(i / 3)]);
  }
  // The reference's image embeddings, so the decoder's sharding is what is compared.
  const embeds = c.images.length ? fromHost(device, ref.image_embeds, { dtype: device.floatDType }) : null;
  const logits = await comm.watch(downloadFloat32(promptLogits(model, ids, positions, embeds)));
  writeFileSync(join(job.out, `rank${job.rank}-${c.name}.f32`), Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
}
comm.destroy();
console.log(`rank ${job.rank}: done`);
