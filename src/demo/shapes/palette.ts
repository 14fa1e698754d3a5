/**
 * Shades around each named colour: the colours drawing tools and people use for that name (CSS and X11 names,
 * the first generator's own colour), each jittered a little per channel. Every anchor sits well inside its own
 * hue: none is nearer another name's anchors than its own, so the name stays the right answer after the jitter.
 */
import type { Prng } from "./prng.js";
import { COLORS, type ColorName, type Rgb } from "./scene-types.js";

export const COLOR_ANCHORS: Readonly<Record<ColorName, readonly Rgb[]>> = {
  red: [COLORS.red, [255, 0, 0], [220, 20, 60], [200, 0, 0], [178, 34, 34], [230, 50, 40]],
  orange: [COLORS.orange, [255, 165, 0], [255, 140, 0], [255, 120, 0], [240, 150, 40], [230, 115, 10]],
  yellow: [COLORS.yellow, [255, 255, 0], [255, 215, 0], [245, 230, 60], [250, 220, 10], [230, 200, 0]],
  green: [COLORS.green, [0, 128, 0], [0, 255, 0], [34, 139, 34], [50, 205, 50], [0, 180, 80], [60, 170, 20]],
  blue: [COLORS.blue, [0, 0, 255], [30, 144, 255], [0, 0, 205], [65, 105, 225], [0, 90, 200], [20, 40, 150]],
  purple: [COLORS.purple, [128, 0, 128], [160, 32, 240], [148, 0, 211], [138, 43, 226], [170, 70, 200], [110, 30, 150]],
};

/** Largest change per channel around an anchor. */
export const SHADE_JITTER = 18;

const clamp = (v: number) => Math.min(255, Math.max(0, v));

/** A shade of `name`: one of its anchors, each channel moved by up to SHADE_JITTER. */
export function pickShade(rng: Prng, name: ColorName): Rgb {
  const anchor = rng.pick(COLOR_ANCHORS[name]);
  return [
    clamp(anchor[0] + rng.intBetween(-SHADE_JITTER, SHADE_JITTER)),
    clamp(anchor[1] + rng.intBetween(-SHADE_JITTER, SHADE_JITTER)),
    clamp(anchor[2] + rng.intBetween(-SHADE_JITTER, SHADE_JITTER)),
  ];
}

/** A darker version of a colour (for outlines drawn in the shape's own hue). */
export function darker(rgb: Rgb, factor: number): Rgb {
  return [Math.round(rgb[0] * factor), Math.round(rgb[1] * factor), Math.round(rgb[2] * factor)];
}
