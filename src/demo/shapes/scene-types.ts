/**
 * The vocabulary of the shapes scenes: canvas, shape kinds, colours and sizes, and the scene data type.
 * Everything the demo model can see and name is listed here.
 */

/**
 * Width and height of every picture, in pixels. A multiple of 28 (patch 14 x merge 2) whose area lies between
 * the Qwen2-VL processor's min_pixels (3136) and the max_pixels the demo model is saved with, so the processor
 * keeps the picture as it is (no resize): 8x8 patches, 16 image tokens.
 */
export const CANVAS_SIZE = 112;
export const CHANNELS = 3;

export const SHAPE_KINDS = ["circle", "square", "triangle", "star"] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

export type Rgb = readonly [number, number, number];

/**
 * Six hues far apart in RGB: every pair differs by at least 75 in some channel (the closest pair is orange and
 * yellow), far more than the background noise (at most 12), and all are dark or saturated enough to stand out
 * from the light backgrounds.
 */
export const COLORS = {
  red: [210, 35, 35],
  orange: [245, 135, 20],
  yellow: [235, 210, 25],
  green: [35, 160, 60],
  blue: [40, 85, 225],
  purple: [140, 55, 185],
} as const satisfies Record<string, Rgb>;
export type ColorName = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as ColorName[];

/** Half the side of each shape's bounding box, in pixels. Sizes vary the pictures; the language never names them. */
export const SIZES = { small: 9, medium: 12, large: 15 } as const;
export type SizeName = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];

export interface SceneShape {
  readonly kind: ShapeKind;
  readonly color: ColorName;
  readonly size: SizeName;
  /**
   * The pixel whose centre is the shape's centre: the shape is drawn around (centerX + 0.5, centerY + 0.5) and
   * lies inside the box of half side `halfExtent` around that point.
   */
  readonly centerX: number;
  readonly centerY: number;
  readonly halfExtent: number;
}

/** A soft round patch that darkens and tints the background, strongest at its centre and fading to nothing. */
export interface Blotch {
  readonly centerX: number;
  readonly centerY: number;
  readonly radius: number;
  /** Added to the background at the centre (negative: darker). */
  readonly delta: Rgb;
}

export interface SceneBackground {
  readonly base: Rgb;
  /** Per-pixel, per-channel uniform noise in [-amplitude, amplitude]; 0 for a plain background. */
  readonly noiseAmplitude: number;
  readonly blotches: readonly Blotch[];
}

export interface Scene {
  readonly seed: number;
  /** 1 to 3 shapes, sorted left to right by centre (centres differ by at least MIN_CENTER_X_GAP). */
  readonly shapes: readonly SceneShape[];
  readonly background: SceneBackground;
}
