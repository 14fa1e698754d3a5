/**
 * Errors as an HTTP client sees them: an HTTP status chosen by the cause, and OpenAI's error body
 * (`{ error: { message, type, param, code } }`) on every endpoint, SGLang's included, so one client-side handler fits
 * all. Faults inside Iris answer 500 with a fixed message: their text (paths, stack details) stays in the server log.
 */
import { IrisError, type IrisErrorCode } from "../core/errors.js";

/** OpenAI's error types, by status. */
const TYPE_OF_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  503: "service_unavailable_error",
  500: "internal_server_error",
};

/** An answer other than 200, with what the client is told. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: TYPE_OF_STATUS[this.status] ?? "invalid_request_error", param: this.param, code: this.code } };
  }
}

/** Shorthand for the commonest answer: 400 with INVALID_ARGUMENT, naming the request field. */
export function badRequest(message: string, param: string | null = null): HttpError {
  return new HttpError(400, message, "INVALID_ARGUMENT", param);
}

/** The status of an engine error: what the client sent (400), the server's state (503), or a fault in Iris (500). */
export function statusOfCode(code: IrisErrorCode): number {
  switch (code) {
    case "INVALID_ARGUMENT":
    case "IMAGE_LOAD":
    case "IMAGE_TOO_SMALL":
    case "IMAGE_ASPECT_RATIO":
    case "MIXED_IMAGE_FORMATS":
    case "IMAGE_TOKEN_MISMATCH":
    case "CONTEXT_TOO_LONG":
    case "CHAT_TEMPLATE":
    case "TOKENIZER":
      return 400;
    // The engine is stopping, or its memory cannot take the request now: worth a retry elsewhere or later.
    case "ENGINE_SHUTDOWN":
    case "OUT_OF_MEMORY":
    case "ABORTED":
      return 503;
    default:
      return 500;
  }
}

/** The HTTP error for anything a handler threw; `log` receives internal faults, which the client is not shown. */
export function toHttpError(err: unknown, log: (message: string) => void): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof IrisError) {
    const status = statusOfCode(err.code);
    if (status === 500) {
      log(`internal error: ${err.code}: ${err.message}`);
      return new HttpError(500, "internal server error", "INTERNAL");
    }
    return new HttpError(status, err.message, err.code);
  }
  const framework = frameworkError(err);
  if (framework) return framework;
  log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return new HttpError(500, "internal server error", "INTERNAL");
}

/** Fastify's own client errors (body too large, bad JSON, wrong content type) keep their status, in OpenAI's shape. */
function frameworkError(err: unknown): HttpError | undefined {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.statusCode !== "number" || e.statusCode < 400 || e.statusCode >= 500) return undefined;
  const code = typeof e.code === "string" ? e.code : null;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return new HttpError(413, "the request body is larger than the server accepts (see --max-body-mb)", "BODY_TOO_LARGE");
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new HttpError(415, "send the request body as application/json", "UNSUPPORTED_MEDIA_TYPE");
  return new HttpError(e.statusCode, typeof e.message === "string" ? e.message : "bad request", e.statusCode === 400 ? "INVALID_ARGUMENT" : code);
}
