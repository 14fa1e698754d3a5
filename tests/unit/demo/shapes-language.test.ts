import { test } from "node:test";
import assert from "node:assert/strict";
import { generateScene } from "../../../src/demo/shapes/scene.js";
import { describeScene, numberWord, questionsFor, QUESTION_KINDS } from "../../../src/demo/shapes/language.js";
import { SHAPE_KINDS, type Scene, type SceneShape } from "../../../src/demo/shapes/scene-types.js";
import { trainingSeeds } from "../../../src/demo/shapes/seeds.js";

const SCENES: Scene[] = trainingSeeds(1000).map(generateScene);

function scene(shapes: Partial<SceneShape>[]): Scene {
  return {
    seed: 9,
    background: { base: [240, 240, 240], noiseAmplitude: 0, blotches: [] },
    shapes: shapes.map((s, i) => ({ kind: "circle", color: "red", size: "small", centerX: 20 + 30 * i, centerY: 50, halfExtent: 9, ...s })),
  };
}

test("descriptions name the shapes left to right, with the right article", () => {
  assert.equal(describeScene(scene([{ kind: "star", color: "green" }])), "A green star.");
  assert.equal(describeScene(scene([{ kind: "triangle", color: "orange" }])), "An orange triangle.");
  assert.equal(
    describeScene(scene([{ kind: "circle", color: "red" }, { kind: "square", color: "blue" }])),
    "A red circle to the left of a blue square.",
  );
  assert.equal(
    describeScene(scene([{ color: "red" }, { kind: "square", color: "blue" }, { kind: "triangle", color: "yellow" }])),
    "From left to right: a red circle, a blue square and a yellow triangle.",
  );
});

test("answers agree with the scene", () => {
  for (const s of SCENES) {
    const qas = questionsFor(s);
    for (const qa of qas) assert.ok(QUESTION_KINDS.includes(qa.kind));
    const answers = (kind: string): string[] => qas.filter((q) => q.kind === kind).map((q) => q.answer);
    assert.deepEqual(answers("describe"), [describeScene(s)]);
    assert.deepEqual(answers("count"), [numberWord(s.shapes.length)]);

    const leftmost = s.shapes.reduce((a, b) => (b.centerX < a.centerX ? b : a));
    assert.deepEqual(answers("leftmost"), s.shapes.length >= 2 ? [leftmost.kind] : []);

    for (const qa of qas.filter((q) => q.kind === "color")) {
      const kind = SHAPE_KINDS.find((k) => qa.question === `What color is the ${k}?`);
      assert.ok(kind !== undefined, qa.question);
      const ofKind = s.shapes.filter((sh) => sh.kind === kind);
      assert.equal(ofKind.length, 1, `colour asked about ${kind}, which appears ${ofKind.length} times`);
      assert.equal(qa.answer, ofKind[0].color);
    }
    const uniqueKinds = SHAPE_KINDS.filter((k) => s.shapes.filter((sh) => sh.kind === k).length === 1);
    assert.equal(answers("color").length, uniqueKinds.length);

    for (const qa of qas.filter((q) => q.kind === "exists")) {
      const kind = SHAPE_KINDS.find((k) => qa.question === `Is there a ${k}?`);
      assert.ok(kind !== undefined, qa.question);
      assert.equal(qa.answer, s.shapes.some((sh) => sh.kind === kind) ? "yes" : "no");
    }
  }
});

test("each question kind has one phrasing and one-word lowercase answers (except the description)", () => {
  const phrasings = new Map<string, Set<string>>();
  for (const s of SCENES) {
    for (const qa of questionsFor(s)) {
      const shape = SHAPE_KINDS.find((k) => qa.question.includes(k)) ?? "";
      const key = qa.kind;
      const set = phrasings.get(key) ?? new Set<string>();
      set.add(qa.question.replace(shape, "<shape>"));
      phrasings.set(key, set);
      if (qa.kind !== "describe") assert.match(qa.answer, /^[a-z]+$/);
    }
  }
  for (const kind of QUESTION_KINDS) assert.equal(phrasings.get(kind)?.size, 1, `${kind}: ${[...(phrasings.get(kind) ?? [])].join(" | ")}`);
});

test("yes and no are balanced, and every answer of every kind occurs", () => {
  const tally = new Map<string, number>();
  for (const s of SCENES) {
    for (const qa of questionsFor(s)) {
      if (qa.kind === "describe") continue;
      const key = `${qa.kind}:${qa.answer}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
  }
  assert.equal(tally.get("exists:yes"), SCENES.length);
  assert.equal(tally.get("exists:no"), SCENES.length);
  for (const n of ["one", "two", "three"]) assert.ok((tally.get(`count:${n}`) ?? 0) > 200, `count ${n}`);
  for (const k of SHAPE_KINDS) {
    assert.ok((tally.get(`leftmost:${k}`) ?? 0) > 80, `leftmost ${k}`);
    // Each kind asked about both when present and when absent.
    const asked = SCENES.flatMap((s) => questionsFor(s)).filter((q) => q.question === `Is there a ${k}?`);
    assert.ok(asked.some((q) => q.answer === "yes") && asked.some((q) => q.answer === "no"), `is there a ${k}`);
  }
});
