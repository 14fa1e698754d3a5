/**
 * The package as a user gets it: `npm pack` of the built repository, installed into an empty project (dependencies
 * from the registry), runs `iris demo --eval 200` with the native cpu kernels and gives the repository's answers.
 * The two times are reported, not asserted (the machine is shared): the "within 20%" is a measurement.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST_MAIN, IRIS_BIN, repoRoot } from "../helpers/cli.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

interface Evaluation {
  readonly correct: number;
  readonly questions: number;
  readonly seconds: number;
}

function evaluate(bin: string, cwd: string): Evaluation {
  const env = { ...process.env };
  delete env.IRIS_CPU_NATIVE;
  const out = execFileSync(process.execPath, [bin, "demo", "--eval", "200", "--json"], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out) as Evaluation;
}

test("npm pack, installed into an empty project, runs the demo evaluation with native kernels", { timeout: 900_000 }, (t) => {
  assert.ok(existsSync(DIST_MAIN), "dist/ is built (npm test builds it first)");
  assert.ok(existsSync(join(repoRoot, "build", "iris_cpu.node")), "build/iris_cpu.node is built (npm run build:native)");
  const dir = mkdtempSync(join(tmpdir(), "iris-pack-"));
  try {
    // --ignore-scripts: the build is the one under test, already made; prepare would only rebuild it.
    const packed = JSON.parse(execFileSync(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: repoRoot, encoding: "utf8" })) as
      { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    for (const needed of ["build/iris_cpu.node", "scripts/build-native.mjs", "scripts/node-api-headers.mjs", "native/addon/addon.cc", "dist/cli/main.js", "bin/iris.js"]) {
      assert.ok(files.includes(needed), `the package holds ${needed}`);
    }
    assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("tests/")), "sources and tests stay out of the package");

    const project = join(dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "iris-user", version: "1.0.0", private: true, type: "module" }));
    try {
      execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, packed[0].filename)], { cwd: project, encoding: "utf8", stdio: "pipe" });
    } catch (err) {
      const e = err as { stderr?: string };
      assert.fail(`npm install of the packed tarball failed (it needs the npm registry for the dependencies): ${e.stderr ?? err}`);
    }
    const installedBin = join(project, "node_modules", "iris-vlm", "bin", "iris.js");
    const version = execFileSync(process.execPath, [installedBin, "--version"], { cwd: project, encoding: "utf8", env: { ...process.env, IRIS_CPU_NATIVE: "" } });
    assert.match(version, /\(cpu kernels: native C\+\+ \((avx512|avx2|portable), \d+ threads\)\)/, `installed: ${version}`);

    const installed = evaluate(installedBin, project);
    const repository = evaluate(IRIS_BIN, repoRoot);
    assert.equal(installed.questions, 1201); // the generator set's 200 pictures, as generator 2 draws them
    assert.equal(installed.correct, repository.correct, "the installed package answers as the repository does");
    t.diagnostic(`iris demo --eval 200: installed ${installed.seconds.toFixed(1)} s, repository ${repository.seconds.toFixed(1)} s (ratio ${(installed.seconds / repository.seconds).toFixed(2)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
