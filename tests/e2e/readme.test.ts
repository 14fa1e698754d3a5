/**
 * The README's examples are tests: each of its code blocks runs here against the bundled model (`models/shapes-vlm`
 * for `/models/...` and `DIR`), with drawn pictures as the image files, so the README cannot drift from the code.
 * The TypeScript example is also type-checked under strict settings (a single request's result is one
 * `GenerateResult`) and run with a guard that fails on any aborted request.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { saveSafetensors } from "../../src/checkpoint/safetensors.js";
import type { HostTensor } from "../../src/core/host-tensor.js";
import { DEMO_MODEL_DIR, demoPrompt } from "../../src/demo/demo-model.js";
import { generateScene, renderScene } from "../../src/demo/shapes/index.js";
import { AutoProcessor } from "../../src/multimodal/auto-processor.js";
import { IRIS_BIN, repoRoot } from "../helpers/cli.js";

const README = readFileSync(join(repoRoot, "README.md"), "utf8");
const blocks = [...README.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
/** An ignored folder inside the repository, so the example resolves the project's packages and types. */
const work = join(repoRoot, "tmp", "readme");
const MODEL_IN_README = "/models/Qwen2.5-VL-3B-Instruct";

describe("README examples", () => {
  before(async () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    for (const [i, name] of ["photo.jpg", "a.jpg", "b.jpg", "c.jpg"].entries()) {
      const picture = renderScene(generateScene(100 + i));
      await sharp(picture.data, { raw: { width: picture.width, height: picture.height, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(work, name));
    }
    const processor = await AutoProcessor.fromPretrained(DEMO_MODEL_DIR);
    const po = await processor.process({ text: demoPrompt("How many shapes are there?"), images: [join(work, "photo.jpg")] });
    const { input_ids, pixel_values, image_grid_thw } = po as unknown as Record<string, HostTensor>;
    saveSafetensors(join(work, "po.safetensors"), { input_ids, pixel_values, image_grid_thw });
  });

  test("the README has the blocks this test knows: shell commands, the TypeScript example, and the server's examples", () => {
    // The server's three blocks (iris serve + curl, the openai client, the AI SDK) run in their own test below.
    assert.deepEqual(blocks.map((b) => b.lang), ["sh", "ts", "sh", "sh", "ts", "ts"]);
    assert.match(blocks[3].code, /^npx iris serve /);
    assert.match(blocks[4].code, /from "openai"/);
    assert.match(blocks[5].code, /from "@ai-sdk\/openai-compatible"/);
    assert.match(blocks[0].code, /npm ci && npx iris demo/, "the README states the install-and-demo command");
    assert.match(blocks[0].code, /^npm test\b/m, "the README states the test command");
  });

  test("the TypeScript example type-checks under strict settings and runs without an aborted request", () => {
    const ts = blocks.find((b) => b.lang === "ts")!.code;
    assert.ok(ts.includes('from "iris-vlm"') && ts.includes(MODEL_IN_README), "the example imports iris-vlm and names the model path this test replaces");
    const source = ts.replace('from "iris-vlm"', 'from "../../src/index.js"').replaceAll(MODEL_IN_README, DEMO_MODEL_DIR);
    writeFileSync(join(work, "example.mts"), source);
    writeFileSync(join(work, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "preserve", moduleResolution: "bundler", skipLibCheck: true, types: ["node"] },
      files: ["example.mts"],
    }));
    const tsc = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(work, "tsconfig.json")], { encoding: "utf8" });
    assert.equal(tsc.status, 0, `tsc on the README example:\n${tsc.stdout}${tsc.stderr}`);

    const guard = join(repoRoot, "tests", "helpers", "readme-guard.ts");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--import", guard, join(work, "example.mts")], { cwd: work, encoding: "utf8", timeout: 240_000 });
    assert.equal(run.status, 0, `the README example failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /readme-guard: 5 generate calls/);
    // metaInfo of the first request, then one line per prompt of the batch: three normal finish reasons.
    assert.equal(run.stdout.match(/type: '(stop|length)'/g)?.length, 3, run.stdout);
  });

  test("the guard catches what the old README did: two images for a prompt with one placeholder", () => {
    const old = [
      'import { Engine, chatTemplates } from "../../src/index.js";',
      `const llm = await Engine.create({ modelPath: ${JSON.stringify(DEMO_MODEL_DIR)} });`,
      'const conv = chatTemplates.get("qwen2-vl").copy();',
      "conv.appendMessage(conv.roles[0], `What's shown here: ${conv.imageToken}?`);",
      "conv.appendMessage(conv.roles[1], null);",
      "const prompt = conv.getPrompt();",
      'await llm.generate({ prompt: [prompt, prompt], imageData: [["a.jpg"], ["b.jpg", "c.jpg"]] });',
      "await llm.shutdown();",
    ].join("\n");
    writeFileSync(join(work, "old-example.mts"), old);
    const guard = join(repoRoot, "tests", "helpers", "readme-guard.ts");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--import", guard, join(work, "old-example.mts")], { cwd: work, encoding: "utf8", timeout: 120_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /readme-guard: a request of the example aborted: .*(image|placeholder)/i);
  });

  test("each shell command runs (npm ci and npm test are how this suite itself is run)", () => {
    const commands = blocks.filter((b) => b.lang === "sh" && !isServerBlock(b.code))
      .flatMap((b) => b.code.split("\n"))
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line.length > 0)
      .flatMap((line) => line.split("&&").map((c) => c.trim()));
    const ran: string[] = [];
    for (const command of commands) {
      if (command === "npm ci" || command === "npm test") continue;
      assert.match(command, /^npx iris /, `a README command this test does not know how to run: ${command}`);
      const args = splitArgs(command.slice("npx iris ".length)).map((a) => (a === "DIR" ? DEMO_MODEL_DIR : a));
      const out = execFileSync(process.execPath, [IRIS_BIN, ...args], { cwd: work, encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
      if (args.includes("--json")) assert.ok(JSON.parse(out).output_ids.length > 0, `${command}: ${out}`);
      else assert.ok(out.trim().length > 0, `${command} printed nothing`);
      ran.push(command);
    }
    assert.ok(ran.length >= 3, `ran ${ran.join("; ")}`);
  });

  test("the server's examples run against iris serve: the curl command, the openai client, the AI SDK", { timeout: 300_000 }, async () => {
    const [shell, openai, aiSdk] = blocks.filter((b) => isServerBlock(b.code));
    const [serveLine, ...curlLines] = shell.code.trim().split("\n");
    // The served model is the bundled one, on a free port; the pictures are data URLs (no network here).
    const args = splitArgs(serveLine.replace(/\s+#.*$/, "").replace(/&$/, "").trim().slice("npx iris ".length))
      .map((a) => (a === MODEL_IN_README ? DEMO_MODEL_DIR : a === "30000" ? "0" : a));
    const child = spawn(process.execPath, [IRIS_BIN, ...args], { cwd: work });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`iris serve did not start:\n${stderr}`)), 120_000);
        child.stderr.on("data", () => {
          const match = /listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.on("exit", (code) => reject(new Error(`iris serve exited with ${code}:\n${stderr}`)));
      });
      const photo = `data:image/jpeg;base64,${readFileSync(join(work, "photo.jpg")).toString("base64")}`;
      const adapt = (code: string) => code.replaceAll("localhost:30000", address).replaceAll("https://example.com/photo.jpg", photo)
        .replaceAll(MODEL_IN_README.split("/").at(-1)!, "shapes-vlm");

      const curl = spawnSync("bash", ["-c", adapt(curlLines.join("\n"))], { encoding: "utf8", timeout: 120_000 });
      assert.equal(curl.status, 0, curl.stderr);
      const reply = JSON.parse(curl.stdout) as { choices: { message: { content: string }; finish_reason: string }[] };
      assert.ok(reply.choices[0].message.content.length > 0 && ["stop", "length"].includes(reply.choices[0].finish_reason), curl.stdout);

      for (const [name, block] of [["serve-openai.mts", openai], ["serve-ai-sdk.mts", aiSdk]] as const) {
        writeFileSync(join(work, name), adapt(block.code));
        writeFileSync(join(work, "tsconfig.json"), JSON.stringify({
          compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "preserve", moduleResolution: "bundler", skipLibCheck: true, types: ["node"] },
          files: [name],
        }));
        const tsc = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(work, "tsconfig.json")], { encoding: "utf8" });
        assert.equal(tsc.status, 0, `tsc on ${name}:\n${tsc.stdout}${tsc.stderr}`);
        const run = spawnSync(process.execPath, ["--import", "tsx", join(work, name)], { cwd: work, encoding: "utf8", timeout: 120_000 });
        assert.equal(run.status, 0, `${name} failed:\n${run.stdout}\n${run.stderr}`);
        assert.ok(run.stdout.trim().length > 0, `${name} printed nothing`);
      }
    } finally {
      child.kill("SIGTERM");
    }
  });
});

/** The server section's blocks, which need a running server: run by the server test, not one command at a time. */
function isServerBlock(code: string): boolean {
  return /iris serve|localhost:30000/.test(code);
}

/** Splits a command line at spaces, keeping "double-quoted words" together. */
function splitArgs(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}
