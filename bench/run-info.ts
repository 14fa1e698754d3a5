/** What every benchmark records beside its numbers: the machine, the commit and the command that produced them. */
import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { basename } from "node:path";

export interface RunInfo {
  readonly machine: { cpu: string; cores: number; memoryGiB: number; node: string };
  readonly commit: string;
  readonly command: string;
}

export function runInfo(script: string): RunInfo {
  // IRIS_COMMIT: the commit a copied tree was made from (the GPU machine receives files, not the repository).
  let commit = process.env.IRIS_COMMIT ?? "unknown";
  if (process.env.IRIS_COMMIT === undefined) try {
    commit = execSync("git rev-parse --short HEAD", { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // Not a git checkout: the commit stays unknown.
  }
  return {
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    commit,
    command: `node --import tsx bench/${basename(script)} ${process.argv.slice(2).join(" ")}`.trim(),
  };
}
