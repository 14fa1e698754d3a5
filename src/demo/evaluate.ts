/**
 * Scores the bundled model through Iris on held-out pictures: every question `questionsFor` asks of each scene,
 * answered greedily, compared exactly with the generator's answer. Two sets of pictures:
 * - "generator": the generator the checkpoint was trained with, on held-out seeds (generator 2 hands the engine
 *   the canvas, so Iris's processor resizes it as it does a user's picture);
 * - "foreign" (generator-2 checkpoints): pictures drawn through a path kept out of training (foreign-drawing.ts),
 *   handed over as PNG or JPEG files.
 */
import type { RawImage } from "../core/request.js";
import type { Engine } from "../engine/engine.js";
import { asDecodedImage, askAll, demoGeneratorVersion } from "./demo-model.js";
import { generateDrawing } from "./shapes/drawing-scene.js";
import { renderDrawing } from "./shapes/drawing-render.js";
import { foreignPictureFile, generateForeignDrawing } from "./shapes/foreign-drawing.js";
import { generateScene, questionsFor, renderScene, QUESTION_KINDS, type QuestionKind } from "./shapes/index.js";

export type EvaluationSet = "generator" | "foreign";

export interface KindScore {
  readonly questions: number;
  readonly correct: number;
}

export interface Evaluation {
  readonly set: EvaluationSet;
  readonly pictures: number;
  readonly questions: number;
  readonly correct: number;
  readonly accuracy: number;
  /** The short-answer questions alone (count, leftmost, color, exists), without the full description. */
  readonly shortAnswerAccuracy: number;
  /** The descriptions alone. */
  readonly describeAccuracy: number;
  readonly byKind: Record<QuestionKind, KindScore>;
  readonly misses: readonly { seed: number; question: string; expected: string; got: string }[];
}

/** A scene of the set, its picture as the engine is given it, and the questions about it. */
export async function evaluationPicture(seed: number, set: EvaluationSet, generator = demoGeneratorVersion()) {
  if (set === "foreign") {
    const scene = generateForeignDrawing(seed);
    return { image: (await foreignPictureFile(scene)) as RawImage, qas: questionsFor(scene) };
  }
  if (generator === 1) {
    const scene = generateScene(seed);
    return { image: asDecodedImage(renderScene(scene)) as RawImage, qas: questionsFor(scene) };
  }
  const scene = generateDrawing(seed);
  return { image: asDecodedImage(await renderDrawing(scene)) as RawImage, qas: questionsFor(scene) };
}

export async function evaluateDemoModel(engine: Engine, seeds: readonly number[], set: EvaluationSet = "generator"): Promise<Evaluation> {
  const items = [];
  for (const seed of seeds) {
    const { image, qas } = await evaluationPicture(seed, set);
    for (const qa of qas) items.push({ seed, image, ...qa });
  }
  const answers = await askAll(engine, items);
  const byKind = Object.fromEntries(QUESTION_KINDS.map((k) => [k, { questions: 0, correct: 0 }])) as Record<QuestionKind, { questions: number; correct: number }>;
  const misses: Evaluation["misses"][number][] = [];
  items.forEach((item, i) => {
    const score = byKind[item.kind];
    score.questions++;
    if (answers[i] === item.answer) score.correct++;
    else misses.push({ seed: item.seed, question: item.question, expected: item.answer, got: answers[i] });
  });
  const sum = (kinds: readonly QuestionKind[], key: keyof KindScore) => kinds.reduce((n, k) => n + byKind[k][key], 0);
  const short = QUESTION_KINDS.filter((k) => k !== "describe");
  return {
    set,
    pictures: seeds.length,
    questions: items.length,
    correct: items.length - misses.length,
    accuracy: (items.length - misses.length) / items.length,
    shortAnswerAccuracy: sum(short, "correct") / sum(short, "questions"),
    describeAccuracy: byKind.describe.correct / byKind.describe.questions,
    byKind,
    misses,
  };
}
