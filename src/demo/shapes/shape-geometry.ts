/**
 * Inside-tests for the four shape kinds, in coordinates relative to the shape's centre (u to the right, v down),
 * for a shape whose bounding box has half side h. Every shape fits in that box and contains its centre.
 *
 * NOTE: only +, -, *, / and comparisons on doubles (no trigonometry at run time), so the rasterized bytes are
 * the same on every machine. The star's corners are precomputed constants for that reason.
 */
import type { ShapeKind } from "./scene-types.js";

/** The square is drawn a little smaller than its box so that its area is close to the circle's. */
export const SQUARE_SCALE = 0.85;
/** The triangle's base sits at v = TRIANGLE_BASE * h; its apex at v = -h; its base spans u in [-h, h]. */
export const TRIANGLE_BASE = 0.8;
/** Inner radius of the star over its outer radius: a fat star stays recognisable at 18 pixels. */
export const STAR_INNER_RATIO = 0.5;

/**
 * The ten corners of a five-pointed star of outer radius 1, first point straight up, alternating outer and
 * inner corners every 36 degrees: (sin a, -cos a) for a = 0, 36, ..., 324 degrees (inner ones scaled below).
 */
const SIN_36 = 0.5877852522924731;
const COS_36 = 0.8090169943749475;
const SIN_72 = 0.9510565162951535;
const COS_72 = 0.30901699437494745;
const UNIT_STAR: readonly (readonly [number, number])[] = [
  [0, -1],
  [SIN_36, -COS_36],
  [SIN_72, -COS_72],
  [SIN_72, COS_72],
  [SIN_36, COS_36],
  [0, 1],
  [-SIN_36, COS_36],
  [-SIN_72, COS_72],
  [-SIN_72, -COS_72],
  [-SIN_36, -COS_36],
];

export type PointTest = (u: number, v: number) => boolean;

/** A shape prepared for rasterizing. */
export interface ShapeOutline {
  /** Whether (u, v) lies in the shape. */
  readonly inside: PointTest;
  /**
   * Whether (u, v) lies in a convex part of the shape (the shape itself when it is convex; the star's inner
   * pentagon). A pixel whose four corners pass this test lies wholly inside the shape.
   */
  readonly insideConvexCore: PointTest;
  /** Radius of a circle around the centre that holds the whole shape. */
  readonly outerRadius: number;
}

export function shapeOutline(kind: ShapeKind, h: number): ShapeOutline {
  switch (kind) {
    case "circle": {
      const inside: PointTest = (u, v) => u * u + v * v <= h * h;
      return { inside, insideConvexCore: inside, outerRadius: h };
    }
    case "square": {
      const s = h * SQUARE_SCALE;
      const inside: PointTest = (u, v) => Math.abs(u) <= s && Math.abs(v) <= s;
      return { inside, insideConvexCore: inside, outerRadius: s * Math.SQRT2 };
    }
    case "triangle": {
      const base = TRIANGLE_BASE * h;
      const height = h + base;
      // The half width grows linearly from 0 at the apex to h at the base.
      const inside: PointTest = (u, v) => v >= -h && v <= base && Math.abs(u) * height <= (v + h) * h;
      return { inside, insideConvexCore: inside, outerRadius: Math.sqrt(h * h + base * base) };
    }
    case "star":
      return starOutline(h);
  }
}

function starOutline(h: number): ShapeOutline {
  const star = polygon(UNIT_STAR.map(([x, y], i) => (i % 2 === 0 ? [x * h, y * h] : [x * h * STAR_INNER_RATIO, y * h * STAR_INNER_RATIO])));
  const pentagon = polygon(UNIT_STAR.filter((_, i) => i % 2 === 1).map(([x, y]) => [x * h * STAR_INNER_RATIO, y * h * STAR_INNER_RATIO]));
  return { inside: star, insideConvexCore: pentagon, outerRadius: h };
}

/** Even-odd crossing test against a closed polygon. */
function polygon(corners: readonly (readonly number[])[]): PointTest {
  const n = corners.length;
  const xs = new Float64Array(corners.map((c) => c[0]));
  const ys = new Float64Array(corners.map((c) => c[1]));
  return (u, v) => {
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      if (ys[i] > v !== ys[j] > v && u < ((xs[j] - xs[i]) * (v - ys[i])) / (ys[j] - ys[i]) + xs[i]) inside = !inside;
    }
    return inside;
  };
}

/** Convenience for tests and checks: the plain inside-test of a shape kind. */
export function insideShape(kind: ShapeKind, h: number, u: number, v: number): boolean {
  return shapeOutline(kind, h).inside(u, v);
}
