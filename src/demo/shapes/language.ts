/**
 * What the demo model is taught to say about a scene: one description and a few questions with short exact
 * answers. Each question kind has exactly one phrasing and one answer form (lowercase single words, except the
 * description), so exact-match scoring is meaningful and the demo can ask the same questions.
 */
import { Prng, streamSeed } from "./prng.js";
import { STREAM } from "./scene.js";
import { SHAPE_KINDS, type ColorName, type ShapeKind } from "./scene-types.js";

/** What the sentences need of a scene (of either generator): its seed and its shapes, left to right. */
export interface NamedScene {
  readonly seed: number;
  readonly shapes: readonly NamedShape[];
}
interface NamedShape {
  readonly kind: ShapeKind;
  readonly color: ColorName;
}

export const QUESTION_KINDS = ["describe", "count", "leftmost", "color", "exists"] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface QuestionAnswer {
  readonly kind: QuestionKind;
  readonly question: string;
  readonly answer: string;
}

/** The fixed phrasing of each question. */
export const QUESTIONS = {
  describe: (): string => "Describe the picture.",
  count: (): string => "How many shapes are there?",
  leftmost: (): string => "Which shape is on the left?",
  color: (kind: ShapeKind): string => `What color is the ${kind}?`,
  exists: (kind: ShapeKind): string => `Is there a ${kind}?`,
} as const;

const NUMBER_WORDS = ["zero", "one", "two", "three"] as const;

export function numberWord(n: number): string {
  const word = NUMBER_WORDS[n];
  if (word === undefined) throw new RangeError(`no number word for ${n}`);
  return word;
}

/** "a red circle", "an orange star". */
function nounPhrase(shape: NamedShape): string {
  const article = /^[aeiou]/.test(shape.color) ? "an" : "a";
  return `${article} ${shape.color} ${shape.kind}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * One sentence, shapes named left to right:
 * "A green star." / "A red circle to the left of a blue square." /
 * "From left to right: a red circle, a blue square and a yellow triangle."
 */
export function describeScene(scene: NamedScene): string {
  const phrases = scene.shapes.map(nounPhrase);
  switch (phrases.length) {
    case 1:
      return `${capitalize(phrases[0])}.`;
    case 2:
      return `${capitalize(phrases[0])} to the left of ${phrases[1]}.`;
    case 3:
      return `From left to right: ${phrases[0]}, ${phrases[1]} and ${phrases[2]}.`;
    default:
      throw new RangeError(`a scene has 1 to 3 shapes, got ${phrases.length}`);
  }
}

/**
 * Every question the scene supports, in a fixed order: describe, count, leftmost (2+ shapes), one colour
 * question per shape kind present exactly once, then one "is there" question answered yes and one answered no
 * (the kinds asked about are drawn from the scene's own question stream, so yes and no are exactly balanced).
 */
export function questionsFor(scene: NamedScene): QuestionAnswer[] {
  const shapes = scene.shapes;
  const out: QuestionAnswer[] = [
    { kind: "describe", question: QUESTIONS.describe(), answer: describeScene(scene) },
    { kind: "count", question: QUESTIONS.count(), answer: numberWord(shapes.length) },
  ];
  if (shapes.length >= 2) {
    // Shapes are sorted left to right, so the first is the leftmost.
    out.push({ kind: "leftmost", question: QUESTIONS.leftmost(), answer: shapes[0].kind });
  }
  const present = SHAPE_KINDS.filter((kind) => shapes.some((s) => s.kind === kind));
  const absent = SHAPE_KINDS.filter((kind) => !present.includes(kind));
  for (const kind of present) {
    const ofKind = shapes.filter((s) => s.kind === kind);
    if (ofKind.length === 1) out.push({ kind: "color", question: QUESTIONS.color(kind), answer: ofKind[0].color });
  }
  const rng = new Prng(streamSeed(scene.seed, STREAM.questions));
  out.push({ kind: "exists", question: QUESTIONS.exists(rng.pick(present)), answer: "yes" });
  out.push({ kind: "exists", question: QUESTIONS.exists(rng.pick(absent)), answer: "no" });
  return out;
}
