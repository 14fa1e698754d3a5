/**
 * OpenAI's `response_format`. `text` is the default and needs nothing; `json_object` and `json_schema` need
 * structured output (a grammar that constrains sampling), which the engine does not have yet, so they are refused
 * with a clear 400 rather than answered with unconstrained text that may not parse.
 */
import { badRequest } from "./http-errors.js";

/** Sampling parameters the response format adds (none while structured output is missing); throws 400 when refused. */
export function checkResponseFormat(format: unknown): Record<string, unknown> {
  if (format === undefined || format === null) return {};
  const type = (format as { type?: unknown }).type;
  if (type === "text") return {};
  if (type === "json_object" || type === "json_schema") {
    throw badRequest(`response_format ${type}: structured output is not available yet in Iris`, "response_format");
  }
  throw badRequest(`response_format.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(type)}`, "response_format");
}
