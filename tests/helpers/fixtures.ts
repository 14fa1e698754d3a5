/**
 * Paths and loaders for the reference fixtures in ../shared/fixtures (outputs of Hugging Face transformers).
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSafetensors } from "../../src/checkpoint/safetensors.js";
import type { HostTensor } from "../../src/core/host-tensor.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = resolve(repoRoot, process.env.IRIS_FIXTURES ?? "../shared/fixtures");

export type FixtureModel = "tiny-qwen2_5-vl" | "tiny-llama4";
/** Both layouts of each tiny model: the Hub layout and the one transformers 5 saves. */
export const LAYOUTS: Record<FixtureModel, string[]> = {
  "tiny-qwen2_5-vl": ["tiny-qwen2_5-vl", "tiny-qwen2_5-vl-v5"],
  "tiny-llama4": ["tiny-llama4", "tiny-llama4-v5"],
};

export function modelDir(name: string): string {
  return join(FIXTURES, "models", name);
}

export interface FixtureCase {
  name: string;
  prompt: string;
  messages: { role: string; content: string | { type: string; text?: string }[] }[];
  images: string[];
  /** Absolute paths of the case's images. */
  imagePaths: string[];
  greedy_tokens: number[];
  greedy_text: string;
  min_margin: number;
  n_prompt_tokens: number;
}

export function loadCases(model: FixtureModel): FixtureCase[] {
  const dir = join(FIXTURES, "cases", model);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as Record<string, Omit<FixtureCase, "name" | "imagePaths">>;
  return Object.entries(index).map(([name, c]) => ({ ...c, name, imagePaths: c.images.map((f) => join(dir, f)) }));
}

export function loadCaseTensors(model: FixtureModel, caseName: string): Record<string, HostTensor> {
  return loadSafetensors(join(FIXTURES, "cases", model, `${caseName}.safetensors`));
}

export function loadTrace(model: FixtureModel): Record<string, HostTensor> {
  return loadSafetensors(join(FIXTURES, "traces", `${model}.one_image.trace.safetensors`));
}
