/**
 * Pictures drawn through a path the demo model never trained on, to check that it answers about drawings other
 * than its generator's: canvases larger than any in training (500 to 900 pixels on the long side, photo-like
 * aspect ratios), backgrounds training never shows (vertical gradients, squared paper, heavy speckle), a
 * rasterizer training never uses ("distance" anti-aliasing, drawing-raster.ts), and the file encoded as PNG or
 * JPEG, so the engine decodes it as it would a user's file. Same vocabulary and questions as training.
 */
import sharp from "sharp";
import { generateDrawing, type DrawingProfile } from "./drawing-scene.js";
import { renderDrawing } from "./drawing-render.js";
import type { DrawingBackground, DrawingScene } from "./drawing-types.js";
import { Prng, streamSeed } from "./prng.js";
import type { Rgb } from "./scene-types.js";

/** Where the foreign pictures' seeds start in the held-out range (the generator's own evaluation uses 10,000..). */
export const FOREIGN_SEED_OFFSET = 20_000;
/** The random stream that picks the file format (after the three of scene.ts STREAM). */
const ENCODING_STREAM = 3;

const COMMON_SIZES: readonly (readonly [number, number])[] = [[640, 480], [800, 600], [600, 600], [720, 540], [512, 768], [900, 600]];
const ASPECTS = [1, 4 / 3, 3 / 2, 16 / 9, 5 / 4];

function foreignCanvas(rng: Prng): readonly [number, number] {
  if (rng.nextFloat() < 0.25) return rng.pick(COMMON_SIZES);
  const long = rng.intBetween(500, 900);
  const short = Math.round(long / rng.pick(ASPECTS));
  return rng.nextFloat() < 0.75 ? [long, short] : [short, long];
}

function light(rng: Prng, lo: number, hi: number): Rgb {
  return [rng.intBetween(lo, hi), rng.intBetween(lo, hi), rng.intBetween(lo, hi)];
}

function foreignBackground(rng: Prng, width: number, height: number): DrawingBackground {
  const r = rng.nextFloat();
  const none = { noiseAmplitude: 0, blotches: [], lineSpacing: 0, lineColor: [0, 0, 0] as Rgb, gradientTo: null };
  if (r < 0.4) return { ...none, kind: "plain", base: light(rng, 225, 255), gradientTo: light(rng, 200, 240) };
  if (r < 0.75) {
    const base: Rgb = rng.nextFloat() < 0.5 ? [255, 255, 255] : [250, 246, 232];
    const lineColor: Rgb = [base[0] - rng.intBetween(25, 50), base[1] - rng.intBetween(15, 35), base[2] - rng.intBetween(0, 15)];
    return { ...none, kind: "plain", base, lineSpacing: Math.round(Math.min(width, height) / rng.intBetween(10, 20)), lineColor };
  }
  return { ...none, kind: "noisy", base: light(rng, 220, 245), noiseAmplitude: rng.intBetween(14, 20) };
}

export const FOREIGN_PROFILE: DrawingProfile = {
  canvas: foreignCanvas,
  background: foreignBackground,
  rasterizer: () => "distance",
  strokeShare: 0,
};

export function generateForeignDrawing(seed: number): DrawingScene {
  return generateDrawing(seed, FOREIGN_PROFILE);
}

/** The scene's picture as a file: PNG, or JPEG at quality 75 to 95 (decided by the seed). */
export async function foreignPictureFile(scene: DrawingScene): Promise<Buffer> {
  const picture = await renderDrawing(scene);
  const rng = new Prng(streamSeed(scene.seed, ENCODING_STREAM));
  const image = sharp(Buffer.from(picture.data.buffer, picture.data.byteOffset, picture.data.byteLength), {
    raw: { width: picture.width, height: picture.height, channels: 3 },
  });
  return rng.nextFloat() < 0.5 ? image.png().toBuffer() : image.jpeg({ quality: rng.intBetween(75, 95) }).toBuffer();
}
