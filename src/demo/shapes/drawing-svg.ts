/**
 * The SVG rasterizer of second-generator scenes: the shapes as an SVG document (transparent background), rendered
 * by librsvg through sharp, then laid over the background Iris painted. librsvg anti-aliases its own way (or not at
 * all with `shape-rendering="crispEdges"`) and draws outlines centred on the edge, as browsers and drawing tools do.
 */
import sharp from "sharp";
import { shapeOutlineOf } from "./drawing-geometry.js";
import type { DrawingShape } from "./drawing-types.js";
import type { FloatCanvas } from "./drawing-raster.js";
import type { Rgb } from "./scene-types.js";

const num = (v: number) => (Math.round(v * 100) / 100).toString();
const color = (rgb: Rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;

function shapeElement(shape: DrawingShape): string {
  const outline = shapeOutlineOf(shape);
  const paint = `fill="${color(shape.rgb)}"` +
    (shape.strokeWidth > 0 ? ` stroke="${color(shape.strokeRgb)}" stroke-width="${num(shape.strokeWidth)}" stroke-linejoin="miter"` : "");
  if (outline.type === "circle") return `<circle cx="${num(outline.cx)}" cy="${num(outline.cy)}" r="${num(outline.r)}" ${paint}/>`;
  return `<polygon points="${outline.points.map(([x, y]) => `${num(x)},${num(y)}`).join(" ")}" ${paint}/>`;
}

export function sceneSvg(width: number, height: number, shapes: readonly DrawingShape[], crisp: boolean): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"` +
    `${crisp ? ' shape-rendering="crispEdges"' : ""}>${shapes.map(shapeElement).join("")}</svg>`;
}

/** Renders the shapes with librsvg and blends them over `canvas` by their alpha. */
export async function paintShapesSvg(canvas: FloatCanvas, shapes: readonly DrawingShape[], crisp: boolean): Promise<void> {
  const svg = sceneSvg(canvas.width, canvas.height, shapes, crisp);
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== canvas.width || info.height !== canvas.height || info.channels !== 4) {
    throw new Error(`librsvg rendered ${info.width}x${info.height}x${info.channels}, expected ${canvas.width}x${canvas.height}x4`);
  }
  const d = canvas.data;
  for (let i = 0, p = 0; i < data.length; i += 4, p += 3) {
    const a = data[i + 3] / 255;
    if (a === 0) continue;
    // sharp returns straight (not premultiplied) alpha for raw output.
    for (let c = 0; c < 3; c++) d[p + c] += (data[i + c] - d[p + c]) * a;
  }
}
