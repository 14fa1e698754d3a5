/**
 * The engine's log lines, on stderr so stdout stays the caller's. SGLang's levels; like SGLang's offline Engine,
 * Iris defaults to "error", so a library call prints nothing unless asked.
 */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  readonly level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** A logger that writes lines at `level` and above; `write` is stderr unless a test hands its own. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (lineLevel: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) return;
    write(`[iris ${new Date().toISOString()}] ${lineLevel.toUpperCase()} ${message}\n`);
  };
  return { level, debug: at("debug"), info: at("info"), warning: at("warning"), error: at("error") };
}
