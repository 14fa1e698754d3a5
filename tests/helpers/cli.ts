/** Runs the shipped `iris` command (bin/iris.js, which loads the built dist/) as a user would. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const IRIS_BIN = resolve(repoRoot, "bin/iris.js");
export const DIST_MAIN = resolve(repoRoot, "dist/cli/main.js");

export interface CliRun {
  /** The exit code (null if killed by a signal). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node bin/iris.js ...args`; never rejects, whatever the exit code. */
export function runIris(args: readonly string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    const options = { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } };
    execFile(process.execPath, [IRIS_BIN, ...args], options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function distIsBuilt(): boolean {
  return existsSync(DIST_MAIN);
}

/** Runs `iris` commands at most `parallel` at a time, in the order they were asked for. */
export class CliPool {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly parallel: number) {}

  async run(args: readonly string[]): Promise<CliRun> {
    if (this.active >= this.parallel) await new Promise<void>((resolveSlot) => this.waiting.push(resolveSlot));
    this.active++;
    try {
      return await runIris(args);
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
