/**
 * Structured output's test material: a bounded JSON schema (an enum, a bounded integer, a string with a maxLength,
 * no other properties, so every sampled output must end) and a real JSON-schema validator (ajv) to check outputs.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import type { GenerateResult } from "../../src/core/request.js";

export const SHAPE_SCHEMA = {
  type: "object",
  properties: {
    shape: { enum: ["circle", "square", "triangle"] },
    count: { type: "integer", minimum: 0, maximum: 12 },
    color: { type: "string", maxLength: 6 },
  },
  required: ["shape", "count", "color"],
  additionalProperties: false,
} as const;

const validate = new Ajv({ strict: true }).compile(SHAPE_SCHEMA);

/** Each result parses as JSON, validates against SHAPE_SCHEMA and ended with a stop token (the grammar complete). */
export function assertValidShapes(results: readonly GenerateResult[], what: string): void {
  results.forEach((r, i) => {
    let value: unknown;
    assert.doesNotThrow(() => (value = JSON.parse(r.text)), `${what} ${i}: not JSON: ${JSON.stringify(r.text)}`);
    assert.ok(validate(value), `${what} ${i}: ${JSON.stringify(r.text)} fails the schema: ${JSON.stringify(validate.errors)}`);
    assert.equal(r.metaInfo.finishReason?.type, "stop", `${what} ${i}: ${JSON.stringify(r.metaInfo.finishReason)}`);
  });
}
