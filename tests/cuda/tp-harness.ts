// Shared by the tensor-parallel cuda tests: whether NCCL loads (else the visible reason they skip) and the GPUs here.
import { spawnSync } from "node:child_process";
import { createGroupHandle } from "../../src/runtime/device.js";
import { skipCuda } from "./harness.js";

/** False where NCCL loads on a cuda machine, else why the NCCL tests skip. */
export const nccl = (() => {
  if (skipCuda) return skipCuda;
  try {
    createGroupHandle("cuda", 1);
    return false;
  } catch (err) {
    return `skipped: ${(err as Error).message}`;
  }
})();

/** GPUs on this machine, as nvidia-smi lists them. */
export function gpuCount(): number {
  const listed = spawnSync("nvidia-smi", ["-L"], { encoding: "utf8" });
  return listed.status === 0 ? listed.stdout.split("\n").filter((l) => l.startsWith("GPU ")).length : 0;
}
