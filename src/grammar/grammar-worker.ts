/**
 * Entry point of the grammar worker thread: XGrammar's compiler and every request's matcher live here, off the
 * engine core's thread, so compiling a schema (about 0.4 s for a 152k vocabulary) never stalls a decode step.
 * The caller's thread asks it to compile (to validate a request before queueing it); the engine core opens a
 * matcher per request and, after each step, sends the sampled tokens and takes back the next masks.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { IrisError } from "../core/errors.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { GrammarCache } from "./grammar-cache.js";
import type { FromGrammarMatchers, FromGrammarWorker, GrammarWorkerData, MaskUpdate, ToGrammarMatchers, ToGrammarWorker } from "./grammar-protocol.js";
import type { GrammarMatcher } from "./xgrammar-runtime.js";

const parent = parentPort;
if (!parent) throw new Error("grammar-worker.ts runs only as a worker thread");
const send = (message: FromGrammarWorker) => parent.postMessage(message);
const data = workerData as GrammarWorkerData;

/**
 * Byte-level token characters of bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5-0xFF map to themselves as
 * Latin-1 characters). XGrammar 0.1.27 decodes an 0xF5-0xF7 lead as a character past U+10FFFF and lets it into
 * strings, where it decodes to U+FFFD; a token holding such a byte is left out of the grammar's vocabulary ("").
 */
const NOT_UTF8 = /[\u00c0\u00c1\u00f5-\u00ff]/;

function vocabulary(): string[] {
  const tokenizer = Tokenizer.fromDir(data.modelPath);
  return Array.from({ length: data.vocabSize }, (_, id) => {
    const token = tokenizer.idToToken(id) ?? "";
    return tokenizer.isSpecial(id) || !NOT_UTF8.test(token) ? token : "";
  });
}

function errorJSON(err: unknown): { code: IrisError["code"]; message: string } {
  return err instanceof IrisError ? err.toJSON() : { code: "INTERNAL", message: `the grammar worker failed: ${(err as Error).message}` };
}

let cache: GrammarCache;
try {
  cache = new GrammarCache({ tokens: vocabulary(), vocabSize: data.vocabSize, stopTokenIds: data.stopTokenIds }, data.cacheEntries);
  await cache.ready();
  send({ type: "ready" });
} catch (err) {
  send({ type: "failed", error: errorJSON(err) });
  process.exit(0);
}

/** Matchers by request id; a request's messages are handled in order (each awaits the one before). */
const matchers = new Map<string, Promise<GrammarMatcher | null>>();

async function update(rid: string, matcher: GrammarMatcher | null, token?: number): Promise<MaskUpdate> {
  if (matcher === null) return { rid, mask: null };
  if (token !== undefined && !matcher.acceptToken(token)) {
    return { rid, mask: null, error: { code: "INTERNAL", message: `internal error: the grammar refused token ${token}, which its mask allowed` } };
  }
  return { rid, mask: matcher.isTerminated() ? null : await matcher.getNextTokenBitmask() };
}

async function onCoreMessage(port: MessagePort, message: ToGrammarMatchers): Promise<void> {
  const reply = (m: FromGrammarMatchers, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  if (message.type === "open") {
    const opening = cache.matcher(message.spec, message.stopTokenIds);
    matchers.set(message.rid, opening.catch(() => null));
    try {
      const u = await update(message.rid, await opening);
      reply({ type: "opened", update: u }, u.mask ? [u.mask.buffer as ArrayBuffer] : []);
    } catch (err) {
      reply({ type: "opened", update: { rid: message.rid, mask: null, error: errorJSON(err) } });
    }
  } else if (message.type === "advance") {
    const updates = await Promise.all(message.tokens.map(async ({ rid, token }) => {
      const matcher = await matchers.get(rid);
      if (matcher === undefined) return { rid, mask: null, error: { code: "INTERNAL" as const, message: `internal error: no grammar matcher for ${rid}` } };
      return update(rid, matcher, token).catch((err): MaskUpdate => ({ rid, mask: null, error: errorJSON(err) }));
    }));
    reply({ type: "advanced", id: message.id, updates }, updates.flatMap((u) => (u.mask ? [u.mask.buffer as ArrayBuffer] : [])));
  } else {
    const matcher = matchers.get(message.rid);
    matchers.delete(message.rid);
    void matcher?.then((m) => m?.dispose());
  }
}

parent.on("message", (message: ToGrammarWorker) => {
  if (message.type === "core-port") {
    message.port.on("message", (m: ToGrammarMatchers) => void onCoreMessage(message.port, m));
    return;
  }
  const start = performance.now();
  cache.compile(message.spec).then(
    () => send({ type: "compiled", id: message.id, ms: performance.now() - start }),
    (err) => send({ type: "compiled", id: message.id, ms: performance.now() - start, error: errorJSON(err) }),
  );
});
