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
import { Utf8Guard } from "./utf8-guard.js";
import type { FromGrammarMatchers, FromGrammarWorker, GrammarWorkerData, MaskUpdate, ToGrammarMatchers, ToGrammarWorker } from "./grammar-protocol.js";
import type { GrammarMatcher } from "./xgrammar-runtime.js";

const parent = parentPort;
if (!parent) throw new Error("grammar-worker.ts runs only as a worker thread");
const send = (message: FromGrammarWorker) => parent.postMessage(message);
const data = workerData as GrammarWorkerData;

/** The model's vocabulary as XGrammar takes it, guarded for UTF-8 (see `Utf8Guard`). */
function vocabulary(): Utf8Guard {
  const tokenizer = Tokenizer.fromDir(data.modelPath);
  const tokens = Array.from({ length: data.vocabSize }, (_, id) => tokenizer.idToToken(id) ?? "");
  return new Utf8Guard(tokens, (id) => tokenizer.isSpecial(id));
}

function errorJSON(err: unknown): { code: IrisError["code"]; message: string } {
  return err instanceof IrisError ? err.toJSON() : { code: "INTERNAL", message: `the grammar worker failed: ${(err as Error).message}` };
}

let cache: GrammarCache;
let guard: Utf8Guard;
try {
  guard = vocabulary();
  cache = new GrammarCache({ tokens: guard.vocabulary, vocabSize: data.vocabSize, stopTokenIds: data.stopTokenIds }, data.cacheEntries);
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
  if (matcher.isTerminated()) return { rid, mask: null };
  const mask = await matcher.getNextTokenBitmask();
  if (token !== undefined) guard.apply(mask, token);
  return { rid, mask };
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
