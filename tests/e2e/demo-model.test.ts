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
import { DEMO_MODEL_DIR, asDecodedImage, demoGeneratorVersion, demoPrompt } from "../../src/demo/demo-model.js";
import { evaluateDemoModel, type EvaluationSet } from "../../src/demo/evaluate.js";
import { evaluationSeeds } from "../../src/demo/run-demo.js";
import { generateDrawing } from "../../src/demo/shapes/drawing-scene.js";
import { renderDrawing } from "../../src/demo/shapes/drawing-render.js";
import { generateScene, renderScene, type RenderedImage } from "../../src/demo/shapes/index.js";
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
const generator = demoGeneratorVersion();

/** The picture Hugging Face's processor was given for a reference case: the canvas, before any resize. */
async function referencePicture(seed: number): Promise<RenderedImage> {
  return generator === 1 ? renderScene(generateScene(seed)) : renderDrawing(generateDrawing(seed));
}

/**
 * What the held-out scores must reach, per set and generator. Generator 1's checkpoint had weak descriptions
 * (a guard against regressions only). Generator 2's is held to issue 16's bars: 98% of the short answers and 95%
 * of the descriptions on the generator's held-out pictures, 95% and 90% on pictures drawn another way.
 */
const BARS: Record<EvaluationSet, { short: number; describe: number }> = generator === 1
  ? { generator: { short: 0.95, describe: 0.65 }, foreign: { short: 0, describe: 0 } }
  : { generator: { short: 0.98, describe: 0.95 }, foreign: { short: 0.95, describe: 0.9 } };

describe("the bundled demo model", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ modelPath: DEMO_MODEL_DIR });
  });
  after(() => engine.shutdown());

  test("Iris's greedy answers equal Hugging Face's for the same checkpoint", async () => {
    assert.ok(reference.cases.length >= 10);
    const pictures = await Promise.all(reference.cases.map((c) => referencePicture(c.seed)));
    const results = await engine.generate({
      prompt: reference.cases.map((c) => c.prompt),
      imageData: pictures.map((picture) => [asDecodedImage(picture)]),
      samplingParams: { temperature: 0, maxNewTokens: reference.max_new_tokens },
    });
    reference.cases.forEach((c, i) => {
      const picture = pictures[i];
      assert.equal(createHash("sha256").update(picture.data).digest("hex"), c.image_sha256, `scene ${c.seed} is drawn as in training`);
      assert.equal(demoPrompt(c.question), c.prompt);
      assert.equal(results[i].metaInfo.promptTokens, c.input_ids.length);
      const mismatch = greedyMismatch(results[i].outputIds, c.greedy_tokens, c.greedy_margins);
      assert.equal(mismatch, null, `${c.question} (scene ${c.seed}): ${mismatch}`);
      if (c.finished) assert.equal(results[i].text, c.greedy_text);
    });
  });

  for (const set of ["generator", "foreign"] as const) {
    const bar = BARS[set];
    test(`200 held-out pictures (${set}): at least ${100 * bar.short}% of the short answers and ${100 * bar.describe}% of the descriptions exactly right`,
      { skip: set === "foreign" && generator === 1 ? "generator 1's checkpoint predates the foreign set" : false }, async () => {
        const evaluation = await evaluateDemoModel(engine, evaluationSeeds(200, set), set);
        const lines = Object.entries(evaluation.byKind).map(([k, s]) => `${k} ${s.correct}/${s.questions}`);
        console.log(`demo model on 200 held-out pictures (${set}): ${(100 * evaluation.accuracy).toFixed(1)}% of all ${evaluation.questions} questions, ` +
          `${(100 * evaluation.shortAnswerAccuracy).toFixed(1)}% of short answers (${lines.join(", ")})`);
        assert.equal(evaluation.pictures, 200);
        assert.ok(evaluation.shortAnswerAccuracy >= bar.short, `short-answer accuracy ${evaluation.shortAnswerAccuracy}`);
        assert.ok(evaluation.describeAccuracy >= bar.describe, `description accuracy ${evaluation.describeAccuracy}`);
      });
  }
});

test("`iris demo` shows the bundled picture and answers every question about it", async () => {
  const run = await runIris(["demo", "--no-color"]);
  assert.equal(run.code, 0, run.stderr);
  const answers = run.stdout.split("\n").filter((line) => line.trim().startsWith("A: "));
  assert.ok(answers.length >= 5, run.stdout);
  assert.ok(answers.every((line) => line.endsWith("(right)")), run.stdout);
  assert.match(run.stdout, /saved as .*iris-demo-\d+\.png/);
});
