/**
 * Finding a model's own Jinja chat template in its directory, where transformers looks and in its order:
 * the processor's templates first (`chat_template.json`, else `chat_template.jinja` plus
 * `additional_chat_templates/*.jinja`, else `processor_config.json`'s "chat_template"), then the tokenizer's
 * (`tokenizer_config.json`'s "chat_template": a string or a list of {name, template}).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { IrisError } from "../core/errors.js";
import { isPlainObject, readOptionalJsonObject, readOptionalText } from "./json-files.js";

/** The templates of one source, by name ("default" for the unnamed one), and the file they came from. */
export interface ChatTemplateSet {
  templates: Map<string, string>;
  origin: string;
}

export function findChatTemplates(modelDir: string): ChatTemplateSet | undefined {
  return processorTemplates(modelDir) ?? tokenizerTemplates(modelDir);
}

/** Picks one template: the named one, else "tool_use" when tools are passed and it exists, else the default. */
export function selectChatTemplate(set: ChatTemplateSet, options: { name?: string; withTools?: boolean } = {}): { name: string; source: string } {
  const names = [...set.templates.keys()];
  const pick = (name: string) => ({ name, source: set.templates.get(name) as string });
  if (options.name !== undefined) {
    if (!set.templates.has(options.name)) {
      throw new IrisError("CHAT_TEMPLATE", `${set.origin} has no chat template named "${options.name}"; it has: ${names.join(", ")}`);
    }
    return pick(options.name);
  }
  if (options.withTools && set.templates.has("tool_use")) return pick("tool_use");
  if (set.templates.has("default")) return pick("default");
  if (names.length === 1) return pick(names[0]);
  throw new IrisError("CHAT_TEMPLATE", `${set.origin} has several chat templates and none named "default"; choose one of: ${names.join(", ")}`);
}

function processorTemplates(modelDir: string): ChatTemplateSet | undefined {
  const legacyPath = join(modelDir, "chat_template.json");
  const rawPath = join(modelDir, "chat_template.jinja");
  const additional = additionalTemplates(modelDir);
  const legacy = readOptionalJsonObject(legacyPath, "CHAT_TEMPLATE");
  if (legacy !== undefined) {
    if (additional.size > 0) {
      throw new IrisError("CHAT_TEMPLATE", `${modelDir} has both the legacy chat_template.json and additional_chat_templates/; keep only one (transformers refuses this too)`);
    }
    if (typeof legacy.chat_template !== "string") throw new IrisError("CHAT_TEMPLATE", `${legacyPath}: "chat_template" must be a string`);
    return { templates: new Map([["default", legacy.chat_template]]), origin: legacyPath };
  }
  const raw = readOptionalText(rawPath, "CHAT_TEMPLATE");
  if (raw !== undefined) additional.set("default", raw);
  if (additional.size > 0) return { templates: additional, origin: raw !== undefined ? rawPath : join(modelDir, "additional_chat_templates") };
  const processorPath = join(modelDir, "processor_config.json");
  const fromProcessor = readOptionalJsonObject(processorPath, "CHAT_TEMPLATE")?.chat_template;
  return fromProcessor == null ? undefined : { templates: parseTemplateEntry(fromProcessor, processorPath), origin: processorPath };
}

function additionalTemplates(modelDir: string): Map<string, string> {
  const dir = join(modelDir, "additional_chat_templates");
  const out = new Map<string, string>();
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const file of files.filter((f) => f.endsWith(".jinja")).sort()) {
    out.set(file.slice(0, -".jinja".length), readOptionalText(join(dir, file), "CHAT_TEMPLATE") ?? "");
  }
  return out;
}

function tokenizerTemplates(modelDir: string): ChatTemplateSet | undefined {
  const path = join(modelDir, "tokenizer_config.json");
  const entry = readOptionalJsonObject(path, "CHAT_TEMPLATE")?.chat_template;
  return entry == null ? undefined : { templates: parseTemplateEntry(entry, path), origin: path };
}

// A "chat_template" entry: a string, a list of {name, template} (transformers' saved form of named templates),
// or an object of name -> template.
function parseTemplateEntry(entry: unknown, path: string): Map<string, string> {
  if (typeof entry === "string") return new Map([["default", entry]]);
  const pairs: [unknown, unknown][] = Array.isArray(entry)
    ? entry.map((item: unknown) => (isPlainObject(item) ? [item.name, item.template] : [undefined, undefined]))
    : isPlainObject(entry)
      ? Object.entries(entry)
      : [];
  if (pairs.length === 0 || pairs.some(([name, template]) => typeof name !== "string" || typeof template !== "string")) {
    throw new IrisError("CHAT_TEMPLATE", `${path}: "chat_template" must be a string or a list of {"name", "template"} strings`);
  }
  return new Map(pairs as [string, string][]);
}
