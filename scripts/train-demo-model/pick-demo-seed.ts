/**
 * After a new checkpoint is installed: checks that `iris demo`'s default picture (DEFAULT_DEMO_SEEDS in
 * src/demo/run-demo.ts) is answered entirely right, and if not, writes there the first held-out scene that is and
 * that shows the demo well (three shapes of three kinds and colours, white canvas, wider than tall, SVG).
 *   node --import tsx scripts/train-demo-model/pick-demo-seed.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Engine } from "../../src/engine/engine.js";
import { DEMO_MODEL_DIR, asDecodedImage, askAll, demoGeneratorVersion } from "../../src/demo/demo-model.js";
import { DEFAULT_DEMO_SEEDS } from "../../src/demo/run-demo.js";
import { generateDrawing } from "../../src/demo/shapes/drawing-scene.js";
import { renderDrawing } from "../../src/demo/shapes/drawing-render.js";
import { questionsFor } from "../../src/demo/shapes/language.js";
import { HELD_OUT_SEED_START } from "../../src/demo/shapes/seeds.js";

const RUN_DEMO = fileURLToPath(new URL("../../src/demo/run-demo.ts", import.meta.url));
const FIRST_CANDIDATE = HELD_OUT_SEED_START + 31_000;

function showsWell(seed: number): boolean {
  const s = generateDrawing(seed);
  return s.shapes.length === 3 && new Set(s.shapes.map((x) => x.kind)).size === 3 && new Set(s.shapes.map((x) => x.color)).size === 3 &&
    s.rasterizer === "svg" && s.background.kind === "white" && s.width > s.height && s.width >= 200;
}

async function allRight(engine: Engine, seed: number): Promise<boolean> {
  const scene = generateDrawing(seed);
  const image = asDecodedImage(await renderDrawing(scene));
  const qas = questionsFor(scene);
  const answers = await askAll(engine, qas.map((qa) => ({ image, question: qa.question })));
  return qas.every((qa, i) => answers[i] === qa.answer);
}

if (demoGeneratorVersion() !== 2) throw new Error("the bundled checkpoint is not of generator 2");
const engine = await Engine.create({ modelPath: DEMO_MODEL_DIR, device: "cpu" });
try {
  const current = DEFAULT_DEMO_SEEDS[2];
  if (await allRight(engine, current)) {
    console.log(`the demo's picture (scene ${current}) is answered entirely right`);
  } else {
    let picked: number | undefined;
    for (let seed = FIRST_CANDIDATE; seed < FIRST_CANDIDATE + 5000 && picked === undefined; seed++) {
      if (showsWell(seed) && (await allRight(engine, seed))) picked = seed;
    }
    if (picked === undefined) throw new Error("no candidate scene is answered entirely right");
    const text = readFileSync(RUN_DEMO, "utf8");
    const updated = text.replace(/2: 0x80000000 \+ [\d_]+ \}/, `2: 0x80000000 + ${picked - HELD_OUT_SEED_START} }`);
    if (updated === text) throw new Error(`could not find DEFAULT_DEMO_SEEDS[2] in ${RUN_DEMO}`);
    writeFileSync(RUN_DEMO, updated);
    const s = generateDrawing(picked);
    console.log(`scene ${current} had a wrong answer: the demo now shows scene ${picked} (${s.width}x${s.height}); update the comment above DEFAULT_DEMO_SEEDS`);
  }
} finally {
  await engine.shutdown();
}
