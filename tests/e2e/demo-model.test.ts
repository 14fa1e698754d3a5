/**
 * The bundled demo model: Iris reproduces Hugging Face's greedy answers for the same checkpoint, draws the same
 * pictures the training script saw, and answers held-out pictures correctly; `iris demo` runs as a user runs it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { DEMO_MODEL_DIR, asDecodedImage, demoPrompt } from "../../src/demo/demo-model.js";
import { evaluateDemoModel } from "../../src/demo/evaluate.js";
import { EVALUATION_SEED_OFFSET } from "../../src/demo/run-demo.js";
import { generateScene, heldOutSeeds, renderScene } from "../../src/demo/shapes/index.js";
import { greedyMismatch } from "../helpers/greedy.js";
import { runIris } from "../helpers/cli.js";

interface ReferenceCase {
  seed: number;
  question: string;
  prompt: string;
  image_sha256: string;
  input_ids: number[];
  greedy_tokens: number[];
  greedy_text: string;
  greedy_margins: number[];
  finished: boolean;
}

const reference = JSON.parse(readFileSync(join(DEMO_MODEL_DIR, "reference.json"), "utf8")) as { max_new_tokens: number; cases: ReferenceCase[] };

describe("the bundled demo model", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR });
  });
  after(() => engine.shutdown());

  test("Iris's greedy answers equal Hugging Face's for the same checkpoint", async () => {
    assert.ok(reference.cases.length >= 10);
    const results = await engine.generate({
      prompt: reference.cases.map((c) => c.prompt),
      imageData: reference.cases.map((c) => [asDecodedImage(renderScene(generateScene(c.seed)))]),
      samplingParams: { temperature: 0, maxNewTokens: reference.max_new_tokens },
    });
    reference.cases.forEach((c, i) => {
      const picture = renderScene(generateScene(c.seed));
      assert.equal(createHash("sha256").update(picture.data).digest("hex"), c.image_sha256, `scene ${c.seed} is drawn as in training`);
      assert.equal(demoPrompt(c.question), c.prompt);
      assert.equal(results[i].metaInfo.promptTokens, c.input_ids.length);
      const mismatch = greedyMismatch(results[i].outputIds, c.greedy_tokens, c.greedy_margins);
      assert.equal(mismatch, null, `${c.question} (scene ${c.seed}): ${mismatch}`);
      if (c.finished) assert.equal(results[i].text, c.greedy_text);
    });
  });

  test("200 held-out pictures: at least 95% of the short-answer questions exactly right", async () => {
    const evaluation = await evaluateDemoModel(engine, heldOutSeeds(200, EVALUATION_SEED_OFFSET));
    const lines = Object.entries(evaluation.byKind).map(([k, s]) => `${k} ${s.correct}/${s.questions}`);
    console.log(`demo model on 200 held-out pictures: ${(100 * evaluation.accuracy).toFixed(1)}% of all ${evaluation.questions} questions, ${(100 * evaluation.shortAnswerAccuracy).toFixed(1)}% of short answers (${lines.join(", ")})`);
    assert.equal(evaluation.pictures, 200);
    assert.ok(evaluation.shortAnswerAccuracy >= 0.95, `short-answer accuracy ${evaluation.shortAnswerAccuracy}`);
    // The full descriptions are harder (every shape and colour in order); guard against regressions.
    const describe = evaluation.byKind.describe;
    assert.ok(describe.correct / describe.questions >= 0.65, `description accuracy ${describe.correct}/${describe.questions}`);
  });
});

test("`iris demo` shows the bundled picture and answers every question about it", async () => {
  const run = await runIris(["demo", "--no-color"]);
  assert.equal(run.code, 0, run.stderr);
  const answers = run.stdout.split("\n").filter((line) => line.trim().startsWith("A: "));
  assert.ok(answers.length >= 5, run.stdout);
  assert.ok(answers.every((line) => line.endsWith("(right)")), run.stdout);
  assert.match(run.stdout, /saved as .*iris-demo-\d+\.png/);
});
