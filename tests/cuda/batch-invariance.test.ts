// Correct under load (issue 10): on cuda, the bundled demo model's greedy answers to 200 held-out pictures are the
// same when all 200 requests run in one batch as when each runs alone. A batch changes every kernel's shapes (the
// matrix products' algorithms by token count, the vision tower's passes over many pictures, decode attention's
// splits), so this checks that no kernel lets one request's rows or the batch's size reach another's numbers
// beyond rounding that could flip an answer. Each run has its own engine, so neither the prefix cache nor the
// embedding cache carries work from one to the other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { askAll, DEMO_MODEL_DIR } from "../../src/demo/demo-model.js";
import { evaluationPicture } from "../../src/demo/evaluate.js";
import { evaluationSeeds } from "../../src/demo/run-demo.js";
import type { RawImage } from "../../src/core/request.js";
import { Engine } from "../../src/engine/engine.js";
import { skipCuda } from "./harness.js";

const PICTURES = 200;

test("the demo model's greedy answers to 200 pictures: one batch of 200 equals each alone", { skip: skipCuda }, async () => {
  const items: { image: RawImage; question: string }[] = [];
  for (const [i, seed] of evaluationSeeds(PICTURES, "generator").entries()) {
    const { image, qas } = await evaluationPicture(seed, "generator");
    items.push({ image, question: qas[i % qas.length].question }); // the question kinds in turn
  }
  const withEngine = async (body: (engine: Engine) => Promise<string[]>) => {
    const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, device: "cuda", disableRadixCache: true });
    try {
      return await body(engine);
    } finally {
      await engine.shutdown();
    }
  };
  const batched = await withEngine((engine) => askAll(engine, items));
  const alone = await withEngine(async (engine) => {
    const answers: string[] = [];
    for (const item of items) answers.push(...await askAll(engine, [item]));
    return answers;
  });
  assert.equal(batched.length, PICTURES);
  assert.ok(new Set(batched).size > 10, "the answers differ between pictures (the test would pass on a constant model)");
  const differing = items.map((_, i) => i).filter((i) => batched[i] !== alone[i]);
  assert.deepEqual(differing.map((i) => ({ question: items[i].question, batched: batched[i], alone: alone[i] })), [],
    `${differing.length} of ${PICTURES} answers differ`);
});
