// Tensor parallelism on cuda: the two kernels it adds (embeddingShard, placeColumns) against the cpu backend; NCCL
// in a group of one GPU (loaded by dlopen; skipped visibly where libnccl is missing); and, on a machine with 2 or
// more GPUs, tiny Qwen2.5-VL and Llama 4 sharded over 2 and 4 ranks (one process per GPU, NCCL between them): the
// collectives' values, identical logits on every rank, and the first logits of every case within bf16 parity of
// the reference.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { embeddingShard } from "../../src/kernels/embedding.js";
import { placeColumns } from "../../src/kernels/slice-columns.js";
import { downloadFloat32 } from "../../src/runtime/creation.js";
import { createGroupHandle, joinGroup } from "../../src/runtime/device.js";
import { LAYOUTS, loadCases, loadCaseTensors, modelDir, type FixtureModel } from "../helpers/fixtures.js";
import { floats, relativeL2 } from "../helpers/numerics.js";
import { repoRoot } from "../helpers/cli.js";
import { cuda, floatPair, host, intPair, rng, randomValues, skipCuda } from "./harness.js";
import { gpuCount, nccl } from "./tp-harness.js";

describe("tensor parallelism's kernels on cuda", { skip: skipCuda }, () => {
  test("embeddingShard: the block's rows, zeros outside it, against the cpu", async () => {
    const random = rng(12);
    for (const [rows, H] of [[5, 64], [33, 24], [7, 3]]) {
      const [tableCpu, tableCuda] = floatPair(randomValues(random, rows * H), [rows, H]);
      const [idsCpu, idsCuda] = intPair([0, 9, 10, 14, 15, 3, 10 + rows - 1, 10 + rows, -1]);
      const expected = await host(embeddingShard(idsCpu, tableCpu, 10));
      assert.deepEqual(await host(embeddingShard(idsCuda, tableCuda, 10)), expected);
      assert.ok(expected.slice(0, H).every((v) => v === 0) && expected.slice(2 * H, 3 * H).some((v) => v !== 0));
    }
  });

  test("placeColumns: a block into its columns, the others untouched", async () => {
    const random = rng(13);
    const [outCpu, outCuda] = floatPair(randomValues(random, 6 * 40), [6, 40]);
    const [xCpu, xCuda] = floatPair(randomValues(random, 6 * 9), [6, 9]);
    assert.deepEqual(await host(placeColumns(outCuda, xCuda, 17)), await host(placeColumns(outCpu, xCpu, 17)));
  });
});

describe("NCCL in a group of one GPU", { skip: nccl }, () => {
  test("the collectives run on the stream and the barrier resolves", async () => {
    const device = cuda();
    const comm = joinGroup(createGroupHandle("cuda", 1), 0, device);
    const [, x] = floatPair(Float32Array.from([1, 2, 3, 4]), [4]);
    comm.allReduceSum(x);
    const [, out] = floatPair(new Float32Array(4), [4]);
    comm.allGather(out, x);
    comm.broadcast(out, 0);
    await comm.barrier();
    assert.deepEqual(Array.from(await downloadFloat32(out)), [1, 2, 3, 4]);
    comm.destroy();
  });
});

const gpus = nccl === false ? gpuCount() : 0;

async function runRanks(fixture: FixtureModel, layout: string, size: number): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "iris-tp-cuda-"));
  const ncclId = Buffer.from((createGroupHandle("cuda", size) as { ncclId: Uint8Array }).ncclId).toString("base64");
  const script = join(repoRoot, "tests", "helpers", "cuda-rank-process.ts");
  await Promise.all(Array.from({ length: size }, (_, rank) => new Promise<void>((resolve, reject) => {
    const job = JSON.stringify({ ncclId, rank, size, layout, fixture, out });
    const child = spawn(process.execPath, ["--import", "tsx", script, job], {
      cwd: repoRoot, env: { ...process.env, NCCL_NVLS_ENABLE: "0" }, stdio: ["ignore", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`rank ${rank} exited with ${code}: ${stderr}`))));
  })));
  return out;
}

for (const size of [2, 4]) {
  const skip = nccl || (gpus < size ? `skipped: ${size} GPUs needed, ${gpus} here` : false);
  describe(`tiny models over ${size} GPUs (NCCL, one process per rank)`, { skip }, () => {
    for (const fixture of ["tiny-qwen2_5-vl", "tiny-llama4"] as const) {
      test(`${fixture}: the same logits on every rank, within bf16 parity of the reference on every case`, async (t) => {
        const layout = LAYOUTS[fixture].find((l) => existsSync(modelDir(l)));
        if (layout === undefined) return t.skip(`no ${fixture} fixture on this machine`);
        const out = await runRanks(fixture, layout, size);
        for (const c of loadCases(fixture)) {
          const read = (rank: number) => new Float32Array(readFileSync(join(out, `rank${rank}-${c.name}.f32`)).buffer.slice(0));
          const logits = read(0);
          for (let rank = 1; rank < size; rank++) assert.deepEqual(read(rank), logits, `${c.name}: rank ${rank}'s logits`);
          const error = relativeL2(logits, floats(loadCaseTensors(fixture, c.name).first_logits));
          console.log(`${fixture}/${c.name} over ${size} GPUs: first logits relative error ${error.toExponential(2)}`);
          assert.ok(error < 2e-2, `${c.name}: relative error ${error}`);
        }
      });
    }
  });
}
