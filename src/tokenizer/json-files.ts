/**
 * Reading the JSON files of a model directory, with errors that name the file and say what to do.
 */
import { readFileSync } from "node:fs";
import { IrisError, type IrisErrorCode } from "../core/errors.js";

/** The text of a file, or undefined when it does not exist (optional files of a model directory). */
export function readOptionalText(path: string, code: IrisErrorCode): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new IrisError(code, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Parses `text` as JSON; `path` only names the file in the error. */
export function parseJson(text: string, path: string, code: IrisErrorCode): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new IrisError(code, `${path} is not valid JSON (${(err as Error).message}); re-download or re-save the model files`, {
      cause: err,
    });
  }
}

/** A JSON object file that may be absent; anything but an object in it is an error. */
export function readOptionalJsonObject(path: string, code: IrisErrorCode): Record<string, unknown> | undefined {
  const text = readOptionalText(path, code);
  if (text === undefined) return undefined;
  const value = parseJson(text, path, code);
  if (!isPlainObject(value)) throw new IrisError(code, `${path} must hold a JSON object`);
  return value;
}

/** A JSON object file that must exist. */
export function readJsonObject(path: string, code: IrisErrorCode, missingHint: string): Record<string, unknown> {
  const value = readOptionalJsonObject(path, code);
  if (value === undefined) throw new IrisError(code, `${path} not found: ${missingHint}`);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
