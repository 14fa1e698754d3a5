/**
 * The grammar worker's compiler: constraints compiled once per (kind, text) and kept in a bounded cache, least
 * recently used first out. Failures are cached too, so a bad schema sent again is refused without recompiling.
 * When XGrammar aborts on a bad grammar, its instance is replaced by a fresh one (with an empty cache); matchers
 * already made keep the old instance alive until they close.
 */
import { IrisError } from "../core/errors.js";
import type { GrammarSpec } from "../core/sampling-params.js";
import { XGrammarRuntime, type CompiledGrammar, type GrammarMatcher, type VocabularyInfo } from "./xgrammar-runtime.js";

type Entry = { readonly grammar: CompiledGrammar; readonly runtime: XGrammarRuntime } | { readonly error: IrisError };

export class GrammarCache {
  private readonly entries = new Map<string, Promise<Entry>>();
  private runtime: Promise<XGrammarRuntime>;

  constructor(private readonly vocab: VocabularyInfo, private readonly capacity: number) {
    this.runtime = XGrammarRuntime.create(vocab);
  }

  /** Waits for the first instance (its vocabulary preprocessed). */
  async ready(): Promise<void> {
    await this.runtime;
  }

  /** The compiled grammar of `spec`; throws INVALID_ARGUMENT for a bad one. */
  async compile(spec: GrammarSpec): Promise<{ grammar: CompiledGrammar; runtime: XGrammarRuntime }> {
    const key = `${spec.kind}\u0000${spec.text}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = this.build(spec);
      this.entries.set(key, entry);
      this.evict();
    } else {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    const done = await entry;
    if ("error" in done) throw done.error;
    return done;
  }

  async matcher(spec: GrammarSpec, stopTokenIds: readonly number[]): Promise<GrammarMatcher> {
    const { grammar, runtime } = await this.compile(spec);
    return runtime.matcher(grammar, stopTokenIds);
  }

  private async build(spec: GrammarSpec): Promise<Entry> {
    const runtime = await this.runtime;
    try {
      return { grammar: await runtime.compile(spec), runtime };
    } catch (err) {
      if (runtime.broken) this.replace(runtime);
      return { error: err instanceof IrisError ? err : new IrisError("INVALID_ARGUMENT", `invalid ${spec.kind}: ${(err as Error).message}`) };
    }
  }

  /** A fresh instance for the next compiles; grammars of the aborted one are dropped (their errors kept). */
  private replace(broken: XGrammarRuntime): void {
    this.runtime = XGrammarRuntime.create(this.vocab);
    for (const [key, entry] of this.entries) {
      void entry.then((e) => {
        if ("runtime" in e && e.runtime === broken && this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      const [key, entry] = this.entries.entries().next().value!;
      this.entries.delete(key);
      // A matcher holds its own reference to the compiled data, so disposing the handle here is safe.
      void entry.then((e) => ("grammar" in e ? e.grammar.dispose() : undefined));
    }
  }
}
