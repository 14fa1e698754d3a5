import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BYTES_PER_IMAGE, GENERATOR_VERSION, type DatasetMeta, type SampleRecord } from "../../../src/demo/shapes/dataset-format.js";
import { writeDataset } from "../../../src/demo/shapes/dataset-writer.js";
import { parseWriterArgs } from "../../../src/demo/shapes/writer-args.js";
import { generateScene } from "../../../src/demo/shapes/scene.js";
import { renderScene } from "../../../src/demo/shapes/render.js";
import { describeScene, questionsFor } from "../../../src/demo/shapes/language.js";
import { HELD_OUT_SEED_START } from "../../../src/demo/shapes/seeds.js";

function withTempDir(body: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "iris-shapes-"));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function readDataset(dir: string): { meta: DatasetMeta; images: Buffer; samples: SampleRecord[] } {
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as DatasetMeta;
  const images = readFileSync(join(dir, "images.u8"));
  const lines = readFileSync(join(dir, "samples.jsonl"), "utf8").split("\n");
  assert.equal(lines.pop(), "", "samples.jsonl ends with a newline");
  return { meta, images, samples: lines.map((l) => JSON.parse(l) as SampleRecord) };
}

test(
  "the writer's files hold each seed's picture and record, in order, with threads or without",
  withTempDir(async (dir) => {
    const seedStart = HELD_OUT_SEED_START + 100;
    const count = 37;
    const threaded = join(dir, "threaded");
    const inline = join(dir, "inline");
    const meta = await writeDataset({ count, seedStart, outDir: threaded, workers: 3, chunkSize: 5 });
    await writeDataset({ count, seedStart, outDir: inline, workers: 0, chunkSize: 8 });
    assert.equal(meta.split, "held-out");

    const a = readDataset(threaded);
    const b = readDataset(inline);
    assert.deepEqual(a.meta, { ...meta });
    assert.equal(a.meta.generatorVersion, GENERATOR_VERSION);
    assert.equal(a.images.length, count * BYTES_PER_IMAGE);
    assert.ok(a.images.equals(b.images), "threaded and inline pictures differ");
    assert.deepEqual(a.samples, b.samples);

    a.samples.forEach((record, i) => {
      assert.equal(record.index, i);
      assert.equal(record.seed, seedStart + i);
      const scene = generateScene(record.seed);
      assert.equal(record.description, describeScene(scene));
      assert.deepEqual(record.questions, questionsFor(scene));
      assert.equal(record.shapes.length, scene.shapes.length);
      const picture = a.images.subarray(i * BYTES_PER_IMAGE, (i + 1) * BYTES_PER_IMAGE);
      assert.ok(Buffer.from(renderScene(scene).data).equals(picture), `picture ${i} differs from its seed's rendering`);
    });
  }),
);

test(
  "a range that mixes training and held-out seeds is refused before anything is written",
  withTempDir(async (dir) => {
    await assert.rejects(writeDataset({ count: 10, seedStart: HELD_OUT_SEED_START - 5, outDir: join(dir, "x") }), /mix/);
    assert.throws(() => readFileSync(join(dir, "x", "images.u8")), /ENOENT/);
  }),
);

test("command-line arguments", () => {
  assert.deepEqual(parseWriterArgs(["--count", "50000", "--seed-start", "0", "--out", "data/train", "--workers", "16"]), {
    count: 50000,
    seedStart: 0,
    outDir: "data/train",
    workers: 16,
    chunkSize: undefined,
  });
  assert.throws(() => parseWriterArgs(["--count", "10", "--seed-start", "0"]), /--out is required/);
  assert.throws(() => parseWriterArgs(["--count", "1e3", "--seed-start", "0", "--out", "d"]), /--count must be an integer/);
  assert.throws(() => parseWriterArgs(["--count", "0", "--seed-start", "0", "--out", "d"]), /--count must be an integer >= 1/);
  assert.throws(() => parseWriterArgs(["--count", "5", "--out", "d"]), /--seed-start is required/);
  assert.throws(() => parseWriterArgs(["--count", "5", "--seed-start", "0", "--out", "d", "--colour"]), /Unknown option/);
});
