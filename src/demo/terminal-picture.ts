/**
 * Shows a picture in a terminal: each character cell is the upper-half block "▀" with the top half's colour as
 * foreground and the bottom half's as background (24-bit ANSI colours), so a 112×112 picture fits in 56×28 cells.
 */
import sharp from "sharp";
import type { RenderedImage } from "./shapes/render.js";

/** The picture as lines of coloured half blocks, `columns` wide (the height keeps the aspect ratio). */
export function pictureAsText(image: RenderedImage, columns = 56): string[] {
  const { width, height, data } = image;
  const cell = width / columns;
  const rows = Math.max(1, Math.round(height / (2 * cell)));
  const average = (x0: number, y0: number, x1: number, y1: number): [number, number, number] => {
    const sum = [0, 0, 0];
    let n = 0;
    for (let y = Math.floor(y0); y < Math.min(height, Math.ceil(y1)); y++) {
      for (let x = Math.floor(x0); x < Math.min(width, Math.ceil(x1)); x++) {
        const i = (y * width + x) * 3;
        sum[0] += data[i];
        sum[1] += data[i + 1];
        sum[2] += data[i + 2];
        n++;
      }
    }
    return [Math.round(sum[0] / n), Math.round(sum[1] / n), Math.round(sum[2] / n)];
  };
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = "";
    for (let c = 0; c < columns; c++) {
      const x0 = c * cell;
      const top = average(x0, 2 * r * cell, x0 + cell, (2 * r + 1) * cell);
      const bottom = average(x0, (2 * r + 1) * cell, x0 + cell, (2 * r + 2) * cell);
      line += `\x1b[38;2;${top.join(";")}m\x1b[48;2;${bottom.join(";")}m▀`;
    }
    lines.push(`${line}\x1b[0m`);
  }
  return lines;
}

export async function writePng(image: RenderedImage, path: string): Promise<void> {
  await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  }).png().toFile(path);
}
