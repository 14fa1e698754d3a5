/**
 * Scores the bundled model through Iris on held-out pictures: every question `questionsFor` asks of each scene,
 * answered greedily, compared exactly with the generator's answer.
 */
import type { Engine } from "../engine/engine.js";
import { asDecodedImage, askAll } from "./demo-model.js";
import { generateScene, questionsFor, renderScene, QUESTION_KINDS, type QuestionKind } from "./shapes/index.js";

export interface KindScore {
  readonly questions: number;
  readonly correct: number;
}

export interface Evaluation {
  readonly pictures: number;
  readonly questions: number;
  readonly correct: number;
  readonly accuracy: number;
  /** The short-answer questions alone (count, leftmost, color, exists), without the full description. */
  readonly shortAnswerAccuracy: number;
  readonly byKind: Record<QuestionKind, KindScore>;
  readonly misses: readonly { seed: number; question: string; expected: string; got: string }[];
}

export async function evaluateDemoModel(engine: Engine, seeds: readonly number[]): Promise<Evaluation> {
  const items = seeds.flatMap((seed) => {
    const scene = generateScene(seed);
    const image = asDecodedImage(renderScene(scene));
    return questionsFor(scene).map((qa) => ({ seed, image, ...qa }));
  });
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
    pictures: seeds.length,
    questions: items.length,
    correct: items.length - misses.length,
    accuracy: (items.length - misses.length) / items.length,
    shortAnswerAccuracy: sum(short, "correct") / sum(short, "questions"),
    byKind,
    misses,
  };
}
