/**
 * The main job of `npx iris demo`: load the bundled model on the CPU, show a picture (a bundled one drawn by the
 * shapes generator, or the user's), ask it questions and print the answers; or score it on held-out pictures.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../engine/engine.js";
import type { LoadProgressEvent } from "../engine/core-client.js";
import { DEMO_MODEL_DIR, asDecodedImage, askAll, demoGeneratorVersion } from "./demo-model.js";
import { evaluateDemoModel, type Evaluation, type EvaluationSet } from "./evaluate.js";
import { generateDrawing } from "./shapes/drawing-scene.js";
import { renderDrawing } from "./shapes/drawing-render.js";
import { FOREIGN_SEED_OFFSET } from "./shapes/foreign-drawing.js";
import { generateScene, heldOutSeeds, isHeldOutSeed, HELD_OUT_SEED_START, questionsFor, renderScene, QUESTIONS, SHAPE_KINDS } from "./shapes/index.js";
import type { RenderedImage } from "./shapes/render.js";
import { pictureAsText, writePng } from "./terminal-picture.js";

/**
 * The bundled picture, per generator: a held-out scene (never seen in training) of three shapes, one the model
 * gets entirely right. Generator 1: 112x112 on a noisy background; generator 2: 329x281, white, drawn by librsvg.
 * `--eval` reports how the model does over many pictures.
 */
export const DEFAULT_DEMO_SEEDS = { 1: 0x80000000 + 20_018, 2: 0x80000000 + 31_425 } as const;

/** The scene of `seed` as the bundled checkpoint's generator draws it, and its questions. */
async function demoScene(seed: number): Promise<{ picture: RenderedImage; qas: ReturnType<typeof questionsFor>; about: string }> {
  if (demoGeneratorVersion() === 1) {
    const scene = generateScene(seed);
    return { picture: renderScene(scene), qas: questionsFor(scene), about: "112x112" };
  }
  const scene = generateDrawing(seed);
  return { picture: await renderDrawing(scene), qas: questionsFor(scene), about: `${scene.width}x${scene.height}, ${scene.rasterizer}` };
}

/** Printed under a scene whose seed lies in the training range: a right answer there proves little. */
export const TRAINING_SEED_NOTE =
  `  (a training seed: scenes below ${HELD_OUT_SEED_START} are the ones the model was trained on; held-out scenes start at ${HELD_OUT_SEED_START})`;

export interface DemoOptions {
  readonly image?: string;
  readonly seed?: number;
  /** Show the picture as coloured text (for terminals). */
  readonly color: boolean;
  readonly print: (line: string) => void;
  readonly onProgress?: (event: LoadProgressEvent) => void;
  /** Called once the model is loaded, before anything is printed (the caller ends its progress bar here). */
  readonly onLoaded?: () => void;
  /** "fp8": the decoder's weights in FP8 (docs/fp8.md). */
  readonly quantization?: "fp8";
}

export async function runDemo(options: DemoOptions): Promise<{ correct: number; asked: number }> {
  const { print } = options;
  const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, device: "cpu", quantization: options.quantization, onProgress: options.onProgress });
  options.onLoaded?.();
  try {
    print(`Iris demo: a ${(engine.info.parameters / 1e6).toFixed(1)}M-parameter vision-language model (Qwen2.5-VL architecture), bundled with Iris, on the CPU.`);
    if (options.image !== undefined) {
      const questions = [QUESTIONS.describe(), QUESTIONS.count(), QUESTIONS.leftmost(), ...SHAPE_KINDS.map((k) => QUESTIONS.exists(k))];
      print(`Picture: ${options.image}`);
      const answers = await askAll(engine, questions.map((question) => ({ image: options.image!, question })));
      questions.forEach((q, i) => print(`  Q: ${q}\n  A: ${answers[i]}`));
      return { correct: 0, asked: questions.length };
    }
    const seed = options.seed ?? DEFAULT_DEMO_SEEDS[demoGeneratorVersion()];
    const { picture, qas, about } = await demoScene(seed);
    const path = join(tmpdir(), `iris-demo-${seed}.png`);
    await writePng(picture, path);
    if (options.color) for (const line of pictureAsText(picture)) print(line);
    print(`Picture: scene ${seed}, drawn by Iris's shapes generator (${about}; saved as ${path})`);
    if (!isHeldOutSeed(seed)) print(TRAINING_SEED_NOTE);
    const answers = await askAll(engine, qas.map((qa) => ({ image: asDecodedImage(picture), question: qa.question })));
    let correct = 0;
    qas.forEach((qa, i) => {
      const right = answers[i] === qa.answer;
      if (right) correct++;
      print(`  Q: ${qa.question}\n  A: ${answers[i]}  ${right ? "(right)" : `(expected: ${qa.answer})`}`);
    });
    print(`${correct} of ${qas.length} answers right. Try: iris demo --image photo.png, iris demo --seed N, iris demo --eval 200`);
    return { correct, asked: qas.length };
  } finally {
    await engine.shutdown();
  }
}

/**
 * Scores the bundled model on `count` held-out pictures (seeds the training never used) of each set asked for
 * (default: the generator's); the foreign set exists for generator-2 checkpoints only. `quantization` "fp8" scores
 * the model with its decoder in FP8 (against its float score: the accuracy FP8 costs).
 */
export async function runEvaluation(count: number, onProgress?: (event: LoadProgressEvent) => void,
  device: "cpu" | "cuda" = "cpu", sets: readonly EvaluationSet[] = ["generator"], quantization?: "fp8"): Promise<Evaluation[]> {
  const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, device, quantization, onProgress });
  try {
    const results: Evaluation[] = [];
    for (const set of sets) results.push(await evaluateDemoModel(engine, evaluationSeeds(count, set), set));
    return results;
  } finally {
    await engine.shutdown();
  }
}

export function evaluationSeeds(count: number, set: EvaluationSet): number[] {
  return heldOutSeeds(count, set === "foreign" ? FOREIGN_SEED_OFFSET : EVALUATION_SEED_OFFSET);
}

/** The sets `iris demo --eval` scores by default: both where the checkpoint has both. */
export function defaultEvaluationSets(): EvaluationSet[] {
  return demoGeneratorVersion() === 2 ? ["generator", "foreign"] : ["generator"];
}

/**
 * Where Iris's own evaluation pictures start in the held-out range: past the 1,000 the training script scored
 * itself on, so these pictures played no part in training or its monitoring.
 */
export const EVALUATION_SEED_OFFSET = 10_000;
