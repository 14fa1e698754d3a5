/**
 * The outline of a second-generator shape in canvas pixels, shared by every rasterizer (Iris's own and the SVG
 * one), so they draw the same shape: a circle, or a polygon (square, triangle pointing up, five-pointed star
 * pointing up). Also the signed distance to the outline, for the distance-based anti-aliasing.
 */
import type { DrawingShape } from "./drawing-types.js";

export type Point = readonly [number, number];

export type Outline =
  | { readonly type: "circle"; readonly cx: number; readonly cy: number; readonly r: number }
  | { readonly type: "polygon"; readonly points: readonly Point[] };

export function shapeOutlineOf(shape: DrawingShape): Outline {
  const { centerX: cx, centerY: cy, halfExtent: h } = shape;
  switch (shape.kind) {
    case "circle":
      return { type: "circle", cx, cy, r: h };
    case "square": {
      const s = h * shape.widthRatio;
      return { type: "polygon", points: [[cx - s, cy - s], [cx + s, cy - s], [cx + s, cy + s], [cx - s, cy + s]] };
    }
    case "triangle": {
      const half = h * shape.widthRatio;
      const base = cy + h * shape.shapeRatio;
      return { type: "polygon", points: [[cx, cy - h], [cx + half, base], [cx - half, base]] };
    }
    case "star": {
      const points: Point[] = [];
      for (let i = 0; i < 10; i++) {
        const angle = (i * Math.PI) / 5;
        const r = i % 2 === 0 ? h : h * shape.shapeRatio;
        points.push([cx + r * Math.sin(angle), cy - r * Math.cos(angle)]);
      }
      return { type: "polygon", points };
    }
  }
}

/** The box [x0, y0, x1, y1] holding the outline. */
export function outlineBounds(outline: Outline): [number, number, number, number] {
  if (outline.type === "circle") return [outline.cx - outline.r, outline.cy - outline.r, outline.cx + outline.r, outline.cy + outline.r];
  const xs = outline.points.map((p) => p[0]);
  const ys = outline.points.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Flat arrays of a polygon's corners, for the inner loops. */
export interface PreparedOutline {
  readonly inside: (x: number, y: number) => boolean;
  /** Signed distance to the outline: negative inside. */
  readonly distance: (x: number, y: number) => number;
}

export function prepareOutline(outline: Outline): PreparedOutline {
  if (outline.type === "circle") {
    const { cx, cy, r } = outline;
    return {
      inside: (x, y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r,
      distance: (x, y) => Math.hypot(x - cx, y - cy) - r,
    };
  }
  const n = outline.points.length;
  const xs = new Float64Array(outline.points.map((p) => p[0]));
  const ys = new Float64Array(outline.points.map((p) => p[1]));
  // Even-odd crossing test: the star's outline does not cross itself, so even-odd and non-zero agree.
  const inside = (x: number, y: number): boolean => {
    let result = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      if (ys[i] > y !== ys[j] > y && x < ((xs[j] - xs[i]) * (y - ys[i])) / (ys[j] - ys[i]) + xs[i]) result = !result;
    }
    return result;
  };
  const distance = (x: number, y: number): number => {
    let best = Infinity;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const ex = xs[i] - xs[j], ey = ys[i] - ys[j];
      const t = Math.max(0, Math.min(1, ((x - xs[j]) * ex + (y - ys[j]) * ey) / (ex * ex + ey * ey)));
      const dx = x - (xs[j] + t * ex), dy = y - (ys[j] + t * ey);
      best = Math.min(best, dx * dx + dy * dy);
    }
    const d = Math.sqrt(best);
    return inside(x, y) ? -d : d;
  };
  return { inside, distance };
}
