/**
 * One instance of XGrammar's WebAssembly build (`@mlc-ai/web-xgrammar`, the grammar engine SGLang uses by default)
 * with the model's vocabulary: compiles JSON schemas, regular expressions and EBNF grammars into token-mask
 * automata and makes matchers from them.
 *
 * NOTE: the package's `lib/index.js` is a UMD bundle inside a `"type": "module"` package, so Node can neither
 * import it (it calls `require`) nor require it (it is ESM by its package.json). It is evaluated here as the
 * CommonJS module it is, with a private `console`: XGrammar reports a bad grammar by printing `[FATAL] ...` and
 * aborting the instance, and the printed line is the only place that names the problem. After an abort the
 * instance's stack is not unwound, so a runtime that has aborted is marked `broken` and replaced by its owner.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type * as XGrammar from "@mlc-ai/web-xgrammar";
import { IrisError } from "../core/errors.js";
import type { GrammarSpec } from "../core/sampling-params.js";

export type CompiledGrammar = XGrammar.CompiledGrammar;
export type GrammarMatcher = XGrammar.GrammarMatcher;
type XGrammarModule = typeof XGrammar;

const require = createRequire(import.meta.url);

/** Evaluates a fresh copy of the bundle: each call gives an independent WebAssembly instance. */
function loadModule(onError: (line: string) => void): XGrammarModule {
  const file = require.resolve("@mlc-ai/web-xgrammar");
  const source = readFileSync(file, "utf8");
  const module = { exports: {} as XGrammarModule };
  // Everything the bundle prints goes to `onError` (the failures it reports) or nowhere (progress chatter).
  const quiet = { ...console, log: () => undefined, warn: () => undefined, error: onError };
  const run = new Function("exports", "module", "require", "__filename", "__dirname", "console", source);
  run(module.exports, module, createRequire(pathToFileURL(file)), file, dirname(file), quiet);
  return module.exports;
}

/** What XGrammar printed before aborting, without its source location: "Regex parsing error at position 4: ...". */
function fatalMessage(lines: readonly string[]): string {
  const fatal = lines.filter((l) => l.startsWith("[FATAL]")).map((l) => l.replace(/^\[FATAL\]\s*\S+:\d+:\s*/, ""));
  return fatal.join("; ") || lines.find((l) => !l.startsWith("Aborted(")) || "the grammar engine rejected it";
}

export interface VocabularyInfo {
  /** Each token's string as tokenizer.json stores it (byte-level form), by id; ids past the tokenizer are "". */
  readonly tokens: readonly string[];
  /** The width of the logits (the config's vocabulary size, at least `tokens.length`). */
  readonly vocabSize: number;
  readonly stopTokenIds: readonly number[];
}

export class XGrammarRuntime {
  /** True once the instance aborted: its state can no longer be trusted; make a new one. */
  broken = false;
  private printed: string[] = [];

  private constructor(private readonly xg: XGrammarModule, private readonly compiler: XGrammar.GrammarCompiler) {}

  static async create(vocab: VocabularyInfo): Promise<XGrammarRuntime> {
    const holder: { runtime?: XGrammarRuntime } = {};
    const xg = loadModule((line) => holder.runtime?.printed.push(String(line)));
    const info = await xg.TokenizerInfo.createTokenizerInfo([...vocab.tokens], "byte_level", false, vocab.vocabSize, [...vocab.stopTokenIds]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
    holder.runtime = new XGrammarRuntime(xg, compiler);
    return holder.runtime;
  }

  /** Compiles a constraint; a bad one is INVALID_ARGUMENT naming XGrammar's complaint. */
  async compile(spec: GrammarSpec): Promise<CompiledGrammar> {
    if (spec.kind === "jsonSchema") checkSchemaText(spec.text);
    return this.guard(`invalid ${spec.kind}`, () => {
      // JSON in one line with ", " and ": " (SGLang's layout with constrained_json_disable_any_whitespace): with
      // free whitespace a sampled output could run whitespace until its token limit instead of closing the object.
      if (spec.kind === "jsonSchema") return this.compileSchema(spec.text);
      if (spec.kind === "regex") return this.compiler.compileStructuralTag({ type: "structural_tag", format: { type: "regex", pattern: spec.text } });
      return this.compiler.compileGrammar(spec.text, "root");
    });
  }

  /**
   * A JSON schema through its EBNF, with the characters of bounded strings fixed.
   * NOTE: XGrammar 0.1.27 writes a string with maxLength as [^"\\\r\n]{0,n}, which lets control characters in
   * (JSON.parse refuses them); its unbounded strings use the right class, which the bounded ones get here.
   */
  private async compileSchema(schema: string): Promise<CompiledGrammar> {
    const ebnf = await this.xg.Testings._jsonSchemaToEBNF(schema, false, -1);
    return this.compiler.compileGrammar(ebnf.replaceAll(BOUNDED_STRING_CHAR, STRING_CHAR), "root");
  }

  /** A matcher at the grammar's start; it accepts only `stopTokenIds` as the end of a complete output. */
  async matcher(grammar: CompiledGrammar, stopTokenIds: readonly number[]): Promise<GrammarMatcher> {
    return this.guard("the grammar matcher failed", () => this.xg.GrammarMatcher.createGrammarMatcher(grammar, [...stopTokenIds]));
  }

  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.printed = [];
    try {
      return await run();
    } catch (err) {
      // An abort (a RuntimeError "Aborted()") means the instance stopped mid-call: its stack is left as it was.
      if (err instanceof Error && err.message.startsWith("Aborted(")) this.broken = true;
      const detail = this.printed.length > 0 ? fatalMessage(this.printed) : (err as Error).message;
      throw new IrisError("INVALID_ARGUMENT", `${what}: ${detail}`);
    } finally {
      this.printed = [];
    }
  }
}

// The character classes of XGrammar's bounded and unbounded JSON strings, as its EBNF prints them.
const BOUNDED_STRING_CHAR = String.raw`[^"\\\r\n]`;
const STRING_CHAR = String.raw`[^\0-\x1f\"\\\r\n]`;

/** Catches schema text that is not JSON before XGrammar does (it would abort the instance for it). */
function checkSchemaText(text: string): void {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new IrisError("INVALID_ARGUMENT", `invalid jsonSchema: it is not JSON text (${(err as Error).message}).`);
  }
  if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema))) {
    throw new IrisError("INVALID_ARGUMENT", `invalid jsonSchema: a schema is an object or a boolean, got ${JSON.stringify(schema).slice(0, 80)}.`);
  }
}
