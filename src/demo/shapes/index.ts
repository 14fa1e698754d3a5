/**
 * The shapes world of the bundled demo model: seeded scenes of 1 to 3 coloured shapes, their pictures, the
 * sentences and question/answer pairs the model learns, the training/held-out seed split, and the data set
 * writer used by scripts/train-demo-model.
 */
export { CANVAS_SIZE, CHANNELS, COLORS, COLOR_NAMES, SHAPE_KINDS, SIZES, SIZE_NAMES } from "./scene-types.js";
export type { ColorName, Rgb, Scene, SceneBackground, SceneShape, ShapeKind, SizeName } from "./scene-types.js";
export { generateScene } from "./scene.js";
export { renderScene, renderSceneInto, type RenderedImage } from "./render.js";
export { describeScene, questionsFor, QUESTIONS, QUESTION_KINDS, type QuestionAnswer, type QuestionKind } from "./language.js";
export { HELD_OUT_SEED_START, heldOutSeeds, isHeldOutSeed, splitOfRange, trainingSeeds } from "./seeds.js";
export { BYTES_PER_IMAGE, sampleRecord, type DatasetMeta, type SampleRecord } from "./dataset-format.js";
export { writeDataset, type WriteDatasetOptions } from "./dataset-writer.js";
