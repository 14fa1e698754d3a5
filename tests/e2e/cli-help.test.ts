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
  assert.equal(version.stdout.trim(), pkg.version);
  const generateHelp = await runIris(["generate", "--help"]);
  assert.equal(generateHelp.code, 0);
  assert.match(generateHelp.stdout, /--processor-output/);
});
