/**
 * Messages of the grammar worker: compile requests from the caller's thread (the `Engine` validates a request's
 * constraint before queueing it), and matcher work from the engine core over a `MessagePort` the caller hands it.
 */
import type { MessagePort } from "node:worker_threads";
import type { IrisErrorCode } from "../core/errors.js";
import type { GrammarSpec } from "../core/sampling-params.js";

/** An IrisError across the thread boundary (`IrisError.toJSON`). */
export interface ErrorJSON {
  readonly code: IrisErrorCode;
  readonly message: string;
}

export interface GrammarWorkerData {
  readonly modelPath: string;
  /** Logit width: masks have ceil(vocabSize / 32) words. */
  readonly vocabSize: number;
  readonly stopTokenIds: readonly number[];
  /** Compiled grammars (and compile errors) kept, least recently used first out. */
  readonly cacheEntries: number;
}

export type ToGrammarWorker =
  | { readonly type: "compile"; readonly id: number; readonly spec: GrammarSpec }
  | { readonly type: "core-port"; readonly port: MessagePort };

export type FromGrammarWorker =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly error: ErrorJSON }
  | { readonly type: "compiled"; readonly id: number; readonly ms: number; readonly error?: ErrorJSON };

/** From the engine core. Each request's matcher is addressed by its rid. */
export type ToGrammarMatchers =
  /** A matcher at the grammar's start; answered with its first mask. */
  | { readonly type: "open"; readonly rid: string; readonly spec: GrammarSpec; readonly stopTokenIds: readonly number[] }
  /** Accept each request's new token and answer with the next masks. */
  | { readonly type: "advance"; readonly id: number; readonly tokens: readonly { readonly rid: string; readonly token: number }[] }
  | { readonly type: "close"; readonly rid: string };

export interface MaskUpdate {
  readonly rid: string;
  /** The next token's allowed set, bit t of word t >> 5; null once the matcher ended (or failed). */
  readonly mask: Int32Array | null;
  /** Set when the matcher refused the token or failed: the request fails with it. */
  readonly error?: ErrorJSON;
}

export type FromGrammarMatchers =
  | { readonly type: "opened"; readonly update: MaskUpdate }
  | { readonly type: "advanced"; readonly id: number; readonly updates: readonly MaskUpdate[] };
