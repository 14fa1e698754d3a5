/**
 * Preloaded (`node --import`) into the README's TypeScript example by tests/e2e/readme.test.ts: every result of
 * `Engine.generate` that ended in an abort (a request the example got wrong, such as two images for one placeholder)
 * fails the run, and the number of calls is reported, so the example is checked as it is written.
 */
import { Engine } from "../../src/engine/engine.js";
import type { GenerateRequest, GenerateResult } from "../../src/core/request.js";

type Generate = (request: GenerateRequest) => Promise<GenerateResult | GenerateResult[]>;
const prototype = Engine.prototype as unknown as { generate: Generate };
const original = prototype.generate;
let calls = 0;
prototype.generate = async function (this: Engine, request: GenerateRequest) {
  calls++;
  const result = await original.call(this, request);
  for (const one of [result].flat()) {
    if (one.metaInfo.finishReason?.type === "abort") {
      console.error(`readme-guard: a request of the example aborted: ${one.metaInfo.finishReason.message}`);
      process.exitCode = 1;
    }
  }
  return result;
};
process.on("exit", () => console.error(`readme-guard: ${calls} generate calls`));
