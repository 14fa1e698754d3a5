/**
 * Scenes of the second shapes generator (GENERATOR_VERSION 2): the same vocabulary as the first (four shape kinds,
 * six colour names, one to three shapes, the same sentences and questions), drawn the way users draw: canvases of
 * many sizes and aspect ratios, white, plain and noisy light backgrounds, shapes of many sizes and proportions,
 * shades around each named colour, and several rasterizers. A picture is drawn at its canvas size; the model sees
 * it as the Qwen2-VL processor resizes it (processor-view.ts).
 */
import type { ColorName, Rgb, ShapeKind } from "./scene-types.js";

/**
 * How the shapes are turned into pixels. "coverage": Iris's own rasterizer, each pixel blended by the share of
 * its 4x4 samples inside the shape; "aliased": Iris's own, one sample at the pixel centre (hard edges, as naive
 * drawing code makes them); "svg" / "svg-crisp": an SVG document rendered by librsvg through sharp, anti-aliased
 * or with `shape-rendering="crispEdges"`; "distance": Iris's own, coverage from the distance to the outline (never
 * in training: it draws the pictures kept out of it, foreign-drawing.ts).
 */
export const RASTERIZERS = ["coverage", "aliased", "svg", "svg-crisp", "distance"] as const;
export type Rasterizer = (typeof RASTERIZERS)[number];

export type BackgroundKind = "white" | "plain" | "noisy";

/** A soft round patch that tints the background, strongest at its centre (canvas pixels). */
export interface DrawingBlotch {
  readonly centerX: number;
  readonly centerY: number;
  readonly radius: number;
  readonly delta: Rgb;
}

export interface DrawingBackground {
  readonly kind: BackgroundKind;
  readonly base: Rgb;
  /** Per-pixel, per-channel uniform noise in [-amplitude, amplitude], added over the whole picture; 0: none. */
  readonly noiseAmplitude: number;
  readonly blotches: readonly DrawingBlotch[];
  /** Faint straight lines (ruled or squared paper): spacing and colour; spacing 0: none. */
  readonly lineSpacing: number;
  readonly lineColor: Rgb;
  /** Vertical gradient: the colour at the bottom edge (the top is `base`); null: none. */
  readonly gradientTo: Rgb | null;
}

/**
 * One shape, in canvas pixels with (0, 0) the top-left corner of the canvas: its centre, and `halfExtent`, half
 * the side of the box the shape lies in. The proportions vary within each kind, the way different tools draw it.
 */
export interface DrawingShape {
  readonly kind: ShapeKind;
  readonly color: ColorName;
  /** The exact colour drawn: a shade near the named colour. */
  readonly rgb: Rgb;
  readonly centerX: number;
  readonly centerY: number;
  readonly halfExtent: number;
  /** Square: half side over halfExtent. Triangle: base half width over halfExtent. Others: 1. */
  readonly widthRatio: number;
  /** Triangle: where the base lies, v = baseRatio * halfExtent (apex at -halfExtent). Star: inner radius ratio. */
  readonly shapeRatio: number;
  /** Outline width in canvas pixels (0: none), and its colour. */
  readonly strokeWidth: number;
  readonly strokeRgb: Rgb;
}

export interface DrawingScene {
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  /** 1 to 3 shapes, sorted left to right by centre. */
  readonly shapes: readonly DrawingShape[];
  readonly background: DrawingBackground;
  readonly rasterizer: Rasterizer;
}
