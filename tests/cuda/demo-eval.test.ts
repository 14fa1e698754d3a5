// The bundled demo model answers the same on cuda (bf16) as on the cpu (float32): its score on 200 held-out pictures
// within one point, the short answers as well as the descriptions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runEvaluation } from "../../src/demo/run-demo.js";
import { skipCuda } from "./harness.js";

test("iris demo --eval 200 scores within one point on cuda and on the cpu", { skip: skipCuda }, async () => {
  const [onCpu] = await runEvaluation(200, undefined, "cpu");
  const [onCuda] = await runEvaluation(200, undefined, "cuda");
  const points = (x: number) => (100 * x).toFixed(1);
  console.log(`demo --eval 200: cpu ${points(onCpu.accuracy)}% (short answers ${points(onCpu.shortAnswerAccuracy)}%), ` +
    `cuda ${points(onCuda.accuracy)}% (short answers ${points(onCuda.shortAnswerAccuracy)}%)`);
  assert.equal(onCuda.questions, onCpu.questions);
  assert.ok(Math.abs(onCuda.accuracy - onCpu.accuracy) <= 0.01, `all questions: cpu ${points(onCpu.accuracy)}, cuda ${points(onCuda.accuracy)}`);
  assert.ok(Math.abs(onCuda.shortAnswerAccuracy - onCpu.shortAnswerAccuracy) <= 0.01,
    `short answers: cpu ${points(onCpu.shortAnswerAccuracy)}, cuda ${points(onCuda.shortAnswerAccuracy)}`);
});
