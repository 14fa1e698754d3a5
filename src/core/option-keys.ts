/**
 * Strict names for everything a user passes in an object (engine options, request fields, sampling parameters):
 * a name Iris does not know is an INVALID_ARGUMENT that names it, instead of being ignored at run time. The message
 * points SGLang users at the camelCase name (`tp_size` -> `tpSize`), near misses at the closest name
 * (`maxNewToken` -> `maxNewTokens`), and says why for names SGLang has that mean nothing in Iris.
 */
import { IrisError } from "./errors.js";

export interface KeyPolicy {
  /** What the keys are, for the message: "engine option", "request field", "sampling parameter". */
  readonly what: string;
  readonly known: ReadonlySet<string>;
  /** camelCase names SGLang has and Iris refuses, with the reason (and what to do instead). */
  readonly refused?: Readonly<Record<string, string>>;
  /** Other names users reach for, mapped to the name Iris uses (after snake_case -> camelCase). */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** SGLang's snake_case name in Iris's camelCase: `tp_size` -> `tpSize`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Makes a key set whose completeness the compiler checks: `keysOf<EngineOptions>()({ modelPath: true, ... })` fails
 * to compile when an option is added to the interface but not here, so the strict check cannot fall behind.
 */
export function keysOf<T>() {
  return (keys: { readonly [K in keyof Required<T>]: true }): ReadonlySet<string> => new Set(Object.keys(keys));
}

/** Throws INVALID_ARGUMENT naming every key of `value` that the policy does not accept. */
export function checkKeys(value: object, policy: KeyPolicy): void {
  const problems = Object.keys(value).filter((key) => !policy.known.has(key)).map((key) => describeUnknown(key, policy));
  if (problems.length === 0) return;
  throw new IrisError("INVALID_ARGUMENT", problems.join("; "));
}

function describeUnknown(key: string, policy: KeyPolicy): string {
  const camel = camelCase(key);
  const reason = policy.refused?.[camel];
  if (reason !== undefined) return `${policy.what} ${key} is not supported by Iris: ${reason}`;
  const unknown = `unknown ${policy.what} ${key}`;
  if (camel !== key && policy.known.has(camel)) return `${unknown} (did you mean ${camel}?); Iris spells SGLang's names in camelCase`;
  const renamed = policy.renamed?.[camel];
  if (renamed !== undefined) return `${unknown} (did you mean ${renamed}?)`;
  const near = nearest(camel, policy.known);
  if (near !== undefined) return `${unknown} (did you mean ${near}?)`;
  return `${unknown}; known: ${[...policy.known].join(", ")}`;
}

/** The known name closest to `name` when it is a plausible typo: at most 1 edit for short names, 2 for longer. */
function nearest(name: string, known: ReadonlySet<string>): string | undefined {
  const lower = name.toLowerCase();
  const limit = lower.length <= 5 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
