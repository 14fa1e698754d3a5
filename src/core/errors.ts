/**
 * Every failure a user can cause or meet is an `IrisError` with a machine-readable `code` and a message that says
 * what was wrong and what to do. A bad request fails alone: the engine and every other request go on.
 */
export type IrisErrorCode =
  | "INVALID_ARGUMENT"
  | "IMAGE_LOAD"
  | "IMAGE_TOO_SMALL"
  | "IMAGE_ASPECT_RATIO"
  | "MIXED_IMAGE_FORMATS"
  | "IMAGE_TOKEN_MISMATCH"
  | "CONTEXT_TOO_LONG"
  | "MODEL_LOAD"
  | "CONFIG_INVALID"
  | "UNSUPPORTED_ARCHITECTURE"
  | "SAFETENSORS_INVALID"
  | "TOKENIZER"
  | "CHAT_TEMPLATE"
  | "OUT_OF_MEMORY"
  | "ENGINE_SHUTDOWN"
  | "ABORTED"
  /** A rank of a tensor-parallel group failed or stopped answering: the whole engine is down. */
  | "RANK_FAILED"
  | "INTERNAL";

export class IrisError extends Error {
  readonly code: IrisErrorCode;

  constructor(code: IrisErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IrisError";
    this.code = code;
  }

  /** A plain object that survives structured clone (worker messages) and JSON. */
  toJSON(): { name: string; code: IrisErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }

  /** Rebuilds an error sent across a worker boundary by `toJSON`. */
  static fromJSON(json: { code: IrisErrorCode; message: string }): IrisError {
    return new IrisError(json.code, json.message);
  }
}

export function isIrisError(err: unknown, code?: IrisErrorCode): err is IrisError {
  return err instanceof IrisError && (code === undefined || err.code === code);
}

/** Throws INVALID_ARGUMENT unless `condition` holds; for checks of caller input. */
export function checkArgument(condition: unknown, message: string): asserts condition {
  if (!condition) throw new IrisError("INVALID_ARGUMENT", message);
}

/** Throws INTERNAL unless `condition` holds; for invariants that only a bug in Iris can break. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new IrisError("INTERNAL", `internal error: ${message}`);
}
