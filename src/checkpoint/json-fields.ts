/**
 * Typed reads of fields from a parsed JSON config, each failure naming the file and the field. Only the files of
 * checkpoint/ and the processor-config files read raw JSON; everything else sees the typed configs they build.
 */
import { readFileSync } from "node:fs";
import { IrisError, type IrisErrorCode } from "../core/errors.js";

export type Json = Record<string, unknown>;

/** Reads and parses a JSON object file; `code` is the error raised when it is missing or malformed. */
export function readJsonFile(path: string, code: IrisErrorCode = "CONFIG_INVALID"): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new IrisError(code, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IrisError(code, `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new IrisError(code, `${path} must hold a JSON object`);
  }
  return value as Json;
}

/** Field readers bound to one source (a file path and a section), so errors say where the bad value is. */
export class JsonFields {
  constructor(readonly json: Json, readonly where: string) {}

  section(key: string): JsonFields | undefined {
    const value = this.json[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw this.bad(key, "an object", value);
    return new JsonFields(value as Json, `${this.where}.${key}`);
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  int(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (!Number.isInteger(value)) throw this.bad(key, "an integer", value);
    return value as number;
  }

  num(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) throw this.bad(key, "a number", value);
    return value;
  }

  bool(key: string, fallback?: boolean): boolean {
    const value = this.json[key] ?? fallback;
    if (typeof value !== "boolean") throw this.bad(key, "true or false", value);
    return value;
  }

  str(key: string, fallback?: string): string {
    const value = this.json[key] ?? fallback;
    if (typeof value !== "string") throw this.bad(key, "a string", value);
    return value;
  }

  ints(key: string, fallback?: number[]): number[] {
    const value = this.json[key] ?? fallback;
    if (!Array.isArray(value) || !value.every(Number.isInteger)) throw this.bad(key, "a list of integers", value);
    return value as number[];
  }

  nums(key: string, fallback?: number[]): number[] {
    const value = this.json[key] ?? fallback;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "number")) throw this.bad(key, "a list of numbers", value);
    return value as number[];
  }

  /** An integer or a list of integers (e.g. `eos_token_id`), as a list. */
  intList(key: string, fallback?: number[]): number[] {
    const value = this.json[key];
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw this.bad(key, "an integer or a list of integers", value);
    }
    return Number.isInteger(value) ? [value as number] : this.ints(key);
  }

  private bad(key: string, expected: string, value: unknown): IrisError {
    const shown = value === undefined ? "missing" : JSON.stringify(value);
    return new IrisError("CONFIG_INVALID", `${this.where}: "${key}" must be ${expected}, got ${shown}`);
  }
}
