/**
 * `iris generate`: one prompt (used as given, or wrapped by `--chat-template`) with raw images, a processor
 * output file or an embeddings file, through the same `Engine` the library exposes.
 */
import type { Command } from "commander";
import { loadSafetensors } from "../checkpoint/safetensors.js";
import { IrisError } from "../core/errors.js";
import { toNumbers, type HostTensor } from "../core/host-tensor.js";
import type { GenerateRequest, GenerateResult, ImageInput } from "../core/request.js";
import { resolveSamplingParams, type SamplingParams } from "../core/sampling-params.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelConfig } from "../checkpoint/model-config.js";
import { checkModelPath } from "../engine/engine-options.js";
import { Engine } from "../engine/engine.js";
import type { MemoryPlan } from "../engine/protocol.js";
import { chatTemplates } from "../tokenizer/chat-templates.js";
import { loadProgressBar } from "./progress.js";

interface GenerateFlags {
  model: string;
  prompt?: string;
  image: string[];
  processorOutput?: string;
  embeddings?: string;
  chatTemplate?: string;
  maxNewTokens?: number;
  minNewTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  stop: string[];
  ignoreEos?: boolean;
  seed?: number;
  n?: number;
  logprobs?: number;
  jsonSchema?: string;
  contextLength?: number;
  device?: "cpu" | "cuda";
  loadFormat?: "auto" | "dummy";
  quantization?: "fp8";
  json?: boolean;
  stream?: boolean;
}

/** A flag's value: each flag maps to the sampling parameter of the same name. */
const SAMPLING_FLAGS = [
  "maxNewTokens", "minNewTokens", "temperature", "topP", "topK", "minP", "repetitionPenalty", "frequencyPenalty", "presencePenalty",
] as const;

/** The image placeholder of each family's chat template, for the hint given before the model loads. */
const TEMPLATE_OF_FAMILY = { qwen2_5_vl: "qwen2-vl", llama4: "llama-4" } as const;

const number = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new IrisError("INVALID_ARGUMENT", `not a number: ${value}`);
  return n;
};

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate text for a prompt and its images")
    .requiredOption("--model <dir>", "model directory (Hugging Face layout)")
    .option("--prompt <text>", "the prompt, used as given unless --chat-template is set")
    .option("--image <path-or-url>", "an image (repeat for several)", (v: string, all: string[]) => [...all, v], [])
    .option("--processor-output <file>", "safetensors with pixel_values, image_grid_thw (or aspect_ratios) and input_ids")
    .option("--embeddings <file>", "safetensors with the vision encoder's output (feature), image_grid_thw and input_ids")
    .option("--chat-template <name>", `wrap the prompt as one user turn (${chatTemplates.names().join(", ")})`)
    .option("--max-new-tokens <n>", "tokens to generate at most (default 128)", number)
    .option("--min-new-tokens <n>", "tokens to generate before a stop condition counts", number)
    .option("--temperature <t>", "sampling temperature; 0 is greedy", number)
    .option("--top-p <p>", "nucleus sampling threshold", number)
    .option("--top-k <k>", "sample among the k most likely tokens", number)
    .option("--min-p <p>", "drop tokens less likely than p times the most likely one", number)
    .option("--repetition-penalty <r>", "divide the logits of tokens already seen by r (1 = none)", number)
    .option("--frequency-penalty <f>", "subtract f per earlier occurrence of a token", number)
    .option("--presence-penalty <p>", "subtract p from tokens that occurred", number)
    .option("--stop <text>", "stop when the output contains this text (repeat for several)", (v: string, all: string[]) => [...all, v], [])
    .option("--seed <n>", "seed of the random draws (samplingSeed)", number)
    .option("--n <n>", "parallel samples of the prompt, prefilled once (--json prints a list of n objects)", number)
    .option("--logprobs <k>", "return each output token's logprob and the k most likely tokens' (in --json's meta_info)", number)
    .option("--json-schema <file>", "the output must be JSON valid under this JSON schema (samplingParams.jsonSchema)")
    .option("--ignore-eos", "do not stop at the end-of-sequence token")
    .option("--context-length <n>", "longest prompt + output (default: the model's)", number)
    .option("--device <device>", "cpu, or cuda where the cuda addon is built")
    .option("--load-format <format>", "auto, or dummy for random weights")
    .option("--quantization <fp8>", "the decoder's weights in FP8, quantized while loading")
    .option("--json", "print one JSON object { text, output_ids, meta_info } on stdout")
    .option("--stream", "print the text as it is generated")
    .action(async (flags: GenerateFlags) => runGenerate(flags));
}

async function runGenerate(flags: GenerateFlags): Promise<void> {
  const request = buildRequest(flags);
  // Check the sampling flags before the model loads: a typo should not cost a load.
  const config = loadModelConfig(join(checkModelPath(flags.model), "config.json"));
  resolveSamplingParams(request.samplingParams as SamplingParams, config.text.vocabSize);
  if (flags.stream && flags.json) throw new IrisError("INVALID_ARGUMENT", "use --stream (text as it comes) or --json (one object at the end), not both");
  if (flags.stream && (flags.n ?? 1) > 1) throw new IrisError("INVALID_ARGUMENT", "--stream prints one text as it comes; with --n above 1 leave out --stream");
  checkPlaceholders(flags, TEMPLATE_OF_FAMILY[config.family]);
  const progress = loadProgressBar(process.stderr.isTTY || !flags.json);
  const engine = await Engine.create({
    modelPath: flags.model,
    loadFormat: flags.loadFormat,
    quantization: flags.quantization,
    device: flags.device,
    contextLength: flags.contextLength,
    onProgress: progress.update,
    onMemoryPlan: (plan) => console.error(describePlan(plan)),
  });
  progress.stop();
  try {
    if (flags.stream) {
      for await (const chunk of engine.generateStream(request)) process.stdout.write(chunk.delta);
      process.stdout.write("\n");
      return;
    }
    const result = await engine.generate(request as Parameters<Engine["generate"]>[0]) as GenerateResult | GenerateResult[];
    if (flags.json) process.stdout.write(JSON.stringify(Array.isArray(result) ? result.map(toSnakeCase) : toSnakeCase(result)) + "\n");
    else if (Array.isArray(result)) result.forEach((r, j) => process.stdout.write(`[sample ${j}] ${r.text}\n`));
    else process.stdout.write(result.text + "\n");
  } finally {
    await engine.shutdown();
  }
}

function buildRequest(flags: GenerateFlags): GenerateRequest {
  const sources = [flags.image.length > 0, flags.processorOutput !== undefined, flags.embeddings !== undefined].filter(Boolean).length;
  if (sources > 1) throw new IrisError("MIXED_IMAGE_FORMATS", "use one of --image, --processor-output and --embeddings");
  const samplingParams: SamplingParams = {};
  for (const name of SAMPLING_FLAGS) if (flags[name] !== undefined) samplingParams[name] = flags[name];
  if (flags.stop.length > 0) samplingParams.stop = flags.stop;
  if (flags.seed !== undefined) samplingParams.samplingSeed = flags.seed;
  if (flags.n !== undefined) samplingParams.n = flags.n;
  if (flags.ignoreEos) samplingParams.ignoreEos = true;
  if (flags.jsonSchema !== undefined) samplingParams.jsonSchema = readSchema(flags.jsonSchema);

  let images: ImageInput[] = flags.image;
  let fileIds: number[] | undefined;
  if (flags.processorOutput || flags.embeddings) {
    const tensors = loadSafetensors((flags.processorOutput ?? flags.embeddings)!);
    fileIds = tensors.input_ids ? toNumbers(tensors.input_ids) : undefined;
    images = [flags.processorOutput ? processorItem(tensors) : embeddingItem(tensors)];
  }
  if (flags.prompt === undefined) {
    if (!fileIds) throw new IrisError("INVALID_ARGUMENT", "give --prompt, or a --processor-output / --embeddings file holding input_ids");
    return { inputIds: fileIds, imageData: images, samplingParams, ...logprobFields(flags) };
  }
  const imageCount = flags.image.length || (fileIds ? 0 : images.length);
  const prompt = flags.chatTemplate ? wrapPrompt(flags.chatTemplate, flags.prompt, imageCount) : flags.prompt;
  return { prompt, imageData: images, samplingParams, ...logprobFields(flags) };
}

/** The text of --json-schema's file (the engine compiles it; a schema that is not JSON fails before any step). */
function readSchema(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new IrisError("INVALID_ARGUMENT", `--json-schema: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** --logprobs k: SGLang's return_logprob with top_logprobs_num k (0: the chosen tokens' logprobs only). */
function logprobFields(flags: GenerateFlags): Pick<GenerateRequest, "returnLogprob" | "topLogprobsNum"> {
  return flags.logprobs === undefined ? {} : { returnLogprob: true, topLogprobsNum: flags.logprobs };
}

/**
 * Raw images with a prompt used as given need one placeholder per image in the prompt. Counted before the model
 * loads, so a plain prompt with --image gets the hint (use --chat-template) at once instead of after the load.
 */
function checkPlaceholders(flags: GenerateFlags, template: string): void {
  if (flags.image.length === 0 || flags.chatTemplate !== undefined || flags.prompt === undefined) return;
  const token = chatTemplates.get(template).copy().imageToken;
  const found = flags.prompt.split(token).length - 1;
  if (found === flags.image.length) return;
  throw new IrisError(
    "IMAGE_TOKEN_MISMATCH",
    `the prompt holds ${found} image placeholders (${token}) for ${flags.image.length} --image files, and without --chat-template it is used as given: add --chat-template ${template} to wrap it (the placeholders go first), or write one placeholder per image into --prompt`,
  );
}

/** One user turn and an open assistant turn; the template's image token goes first, once per image, unless present. */
function wrapPrompt(name: string, prompt: string, images: number): string {
  const conversation = chatTemplates.get(name).copy();
  const token = conversation.imageToken;
  const text = prompt.includes(token) ? prompt : token.repeat(images) + prompt;
  conversation.appendMessage(conversation.roles[0], text);
  conversation.appendMessage(conversation.roles[1], null);
  return conversation.getPrompt();
}

function processorItem(t: Record<string, HostTensor>): ImageInput {
  if (!t.pixel_values) throw new IrisError("INVALID_ARGUMENT", "the processor output file has no pixel_values");
  return { format: "processor_output", pixel_values: t.pixel_values, image_grid_thw: t.image_grid_thw, aspect_ratios: t.aspect_ratios };
}

function embeddingItem(t: Record<string, HostTensor>): ImageInput {
  const feature = t.feature ?? t.image_embeds;
  if (!feature) throw new IrisError("INVALID_ARGUMENT", "the embeddings file has no feature (or image_embeds) tensor");
  return { format: "precomputed_embedding", feature, image_grid_thw: t.image_grid_thw };
}

function describePlan(plan: MemoryPlan): string {
  const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
  const params = plan.parameters >= 1e9 ? `${(plan.parameters / 1e9).toFixed(2)}B` : `${(plan.parameters / 1e6).toFixed(1)}M`;
  return `iris: ${params} parameters (${size(plan.weightBytes)}) and a KV cache of ${plan.maxTotalTokens} tokens (${size(plan.kvCacheBytes)}) on ${plan.device}`;
}

function toSnakeCase(result: GenerateResult) {
  const m = result.metaInfo;
  return {
    text: result.text,
    output_ids: result.outputIds,
    meta_info: {
      id: m.id, prompt_tokens: m.promptTokens, completion_tokens: m.completionTokens, cached_tokens: m.cachedTokens,
      finish_reason: m.finishReason, e2e_latency: m.e2eLatency,
      ...(m.outputTokenLogprobs && { input_token_logprobs: m.inputTokenLogprobs, output_token_logprobs: m.outputTokenLogprobs }),
      ...(m.outputTopLogprobs && { input_top_logprobs: m.inputTopLogprobs, output_top_logprobs: m.outputTopLogprobs }),
    },
  };
}
