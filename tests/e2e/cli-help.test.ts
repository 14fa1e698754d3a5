import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runIris } from "../helpers/cli.js";

test("iris --help and --version print and exit 0", async () => {
  const help = await runIris(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /generate/);
  assert.match(help.stdout, /demo/);
  const version = await runIris(["--version"]);
  assert.equal(version.code, 0, version.stderr);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  // The version line names the kernels that load, so a slow install explains itself.
  assert.match(version.stdout.trim(), new RegExp(`^${pkg.version.replaceAll(".", "\\.")} \\(cpu kernels: (native C\\+\\+ \\((avx512|avx2|portable), \\d+ threads\\)|TypeScript \\(.+\\))\\)$`));
  const withoutNative = await runIris(["--version"], 60_000, { IRIS_CPU_NATIVE: "0" });
  assert.match(withoutNative.stdout, /\(cpu kernels: TypeScript \(disabled by IRIS_CPU_NATIVE=0\)\)/);
  const generateHelp = await runIris(["generate", "--help"]);
  assert.equal(generateHelp.code, 0);
  assert.match(generateHelp.stdout, /--processor-output/);
});
