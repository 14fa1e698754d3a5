/**
 * The multimodal workload of issue 10's benchmarks (bench/vlm-offline.ts, vlm-shared-picture.ts, vlm-formats.ts),
 * shared with their Hugging Face twins: bench/reference/vlm_workload.py computes the same pictures, questions and
 * prompts, so both systems run byte-identical inputs. Also the engine flags every one of these scripts accepts.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { DecodedImage } from "../src/core/request.js";
import type { EngineOptions } from "../src/engine/engine-options.js";
import { chatTemplates } from "../src/tokenizer/chat-templates.js";

/**
 * Picture `index` of the run seeded `seed`: size x size RGB pixels from an integer hash of (seed, index, y, x,
 * channel), so every picture differs from every other and Python computes the same bytes with numpy (uint32
 * arithmetic wraps there as Math.imul does here).
 */
export function picture(seed: number, index: number, size: number): DecodedImage {
  const data = new Uint8Array(size * size * 3);
  const base = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  let at = 0;
  for (let y = 0; y < size; y++) {
    const row = (base ^ Math.imul(y, 0xc2b2ae35)) >>> 0;
    for (let x = 0; x < size; x++) {
      const cell = (row ^ Math.imul(x, 0x27d4eb2f)) >>> 0;
      for (let c = 0; c < 3; c++) {
        let h = (cell + Math.imul(c, 0x165667b1)) >>> 0;
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
        h = (h ^ (h >>> 12)) >>> 0;
        data[at++] = h & 255;
      }
    }
  }
  return { data, width: size, height: size, channels: 3 };
}

const SUBJECTS = ["the colors", "the texture", "the brightest region", "the darkest corner", "any shapes", "the mood",
  "the top half", "the bottom half", "the left side", "the right side", "the center", "the noise"];
const ASKS = ["Describe", "What do you notice about", "Explain", "Summarize", "Tell me about", "Comment on",
  "What stands out in", "How would you characterize"];

/** Question `index`: short, and distinct for the first SUBJECTS x ASKS x 8 indices (768 for a run of 512). */
export function question(index: number): string {
  const subject = SUBJECTS[index % SUBJECTS.length];
  const ask = ASKS[Math.floor(index / SUBJECTS.length) % ASKS.length];
  const variant = Math.floor(index / (SUBJECTS.length * ASKS.length));
  return `${ask} ${subject} of this picture${variant > 0 ? ` (question ${variant})` : ""}.`;
}

/** The conversation around one picture and a question, as SGLang's template (qwen2-vl, or llama-4) renders it. */
export function pictureQuestionPrompt(text: string, template: "qwen2-vl" | "llama-4" = "qwen2-vl"): string {
  const conv = chatTemplates.get(template).copy();
  conv.appendMessage(conv.roles[0], `${conv.imageToken}${text}`);
  conv.appendMessage(conv.roles[1], null);
  return conv.getPrompt();
}

/** The flags every benchmark of this workload takes, beside its own. */
export const ENGINE_FLAGS = {
  model: { type: "string" },
  device: { type: "string", default: "cpu" },
  "load-format": { type: "string", default: "dummy" },
  "context-length": { type: "string" },
  "kv-cache-mb": { type: "string" },
  "max-running-requests": { type: "string" },
  "chunked-prefill-size": { type: "string" },
  "preprocess-workers": { type: "string" },
  "vision-token-budget": { type: "string" },
  "cuda-graph-max-bs": { type: "string" },
  /** "fp8": the decoder's matrices quantized while loading (Llama 4 Scout on one H200, issue 11). */
  quantization: { type: "string" },
  /** Tensor parallelism: GPUs the model is sharded over. */
  "tp-size": { type: "string" },
  /** "true" or "false": resize, rescale, normalize and patchify raw pictures on the device (the engine's default: on for cuda). */
  "patchify-on-device": { type: "string" },
  seed: { type: "string", default: "0" },
} as const;

type Flags = { [K in keyof typeof ENGINE_FLAGS]?: string } & Record<string, string | boolean | undefined>;

/** Engine options from the common flags; the ones not given keep the engine's defaults. */
export function engineOptions(values: Flags, extra: Partial<EngineOptions> = {}): EngineOptions {
  if (!values.model) throw new Error("--model DIR is required");
  const int = (name: keyof typeof ENGINE_FLAGS): number | undefined => (values[name] === undefined ? undefined : Number(values[name]));
  const options: Record<string, unknown> = {
    modelPath: values.model,
    device: values.device as "cpu" | "cuda",
    loadFormat: values["load-format"] as "auto" | "dummy",
    contextLength: int("context-length"),
    kvCacheMemoryMB: int("kv-cache-mb"),
    maxRunningRequests: int("max-running-requests"),
    chunkedPrefillSize: int("chunked-prefill-size"),
    preprocessWorkers: int("preprocess-workers"),
    visionTokenBudget: int("vision-token-budget"),
    cudaGraphMaxBs: int("cuda-graph-max-bs"),
    tpSize: int("tp-size"),
    quantization: values.quantization,
    patchifyOnDevice: values["patchify-on-device"] === undefined ? undefined : values["patchify-on-device"] === "true",
    randomSeed: 0,
    ...extra,
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return options as unknown as EngineOptions;
}

/** Parses the common flags plus `own`. */
export function parseFlags(own: NonNullable<ParseArgsConfig["options"]>): Flags {
  return parseArgs({ options: { ...ENGINE_FLAGS, ...own } }).values as Flags;
}

/** Rounds for JSON: 4 significant digits. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}
