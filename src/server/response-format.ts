/**
 * OpenAI's `response_format` onto the engine's structured output: `json_schema` constrains sampling to the given
 * schema (the engine's `jsonSchema`, the schema's JSON text), `json_object` to any JSON object (`{"type": "object"}`,
 * as SGLang maps it), `text` (the default) to nothing.
 */
import { badRequest } from "./http-errors.js";

/** The sampling parameters the response format adds; throws 400 for a malformed one. */
export function checkResponseFormat(format: unknown): Record<string, unknown> {
  if (format === undefined || format === null) return {};
  if (typeof format !== "object" || Array.isArray(format)) throw badRequest("response_format must be an object with a type", "response_format");
  const { type, json_schema: jsonSchema } = format as { type?: unknown; json_schema?: unknown };
  if (type === "text") return {};
  if (type === "json_object") return { jsonSchema: JSON.stringify({ type: "object" }) };
  if (type === "json_schema") {
    const schema = (jsonSchema as { schema?: unknown } | null | undefined)?.schema;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      throw badRequest("response_format json_schema needs json_schema.schema: the JSON schema object the output must follow", "response_format");
    }
    return { jsonSchema: JSON.stringify(schema) };
  }
  throw badRequest(`response_format.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(type)}`, "response_format");
}
