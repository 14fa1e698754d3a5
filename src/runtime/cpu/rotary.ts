import type { RotaryStyle } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { checkIndex, f32, i32 } from "./storage.js";

export function ropeCosSin(cos: Tensor, sin: Tensor, positions: Tensor, invFreq: Tensor, section: Tensor | null): void {
  const c = f32(cos), s = f32(sin), pos = i32(positions), freq = f32(invFreq);
  const sec = section === null ? null : i32(section);
  const T = positions.shape[0], P = positions.shape[1], R = freq.length;
  if (sec !== null) for (let j = 0; j < R; j++) checkIndex("ropeCosSin", "section", sec[j], P);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < R; j++) {
      // NOTE: torch forms the angle as a float32 product; rounding it first keeps cos/sin identical to it.
      const angle = Math.fround(pos[t * P + (sec === null ? 0 : sec[j])] * freq[j]);
      c[t * R + j] = Math.cos(angle);
      s[t * R + j] = Math.sin(angle);
    }
  }
}

export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor, style: RotaryStyle, y?: Tensor): void {
  const c = f32(cos), s = f32(sin);
  const T = x.shape[0], D = x.shape[2], R = cos.shape[1];
  for (const target of y === undefined ? [x] : [x, y]) {
    const a = f32(target), heads = target.shape[1];
    for (let t = 0; t < T; t++) rotateHeads(a, t * heads * D, heads, D, c, s, t * R, R, style);
  }
}

/** Rotates `heads` heads of D values starting at a[start] by the angles of table row `tab` (R of them). */
export function rotateHeads(a: Float32Array, start: number, heads: number, D: number, c: Float32Array, s: Float32Array, tab: number,
  R: number, style: RotaryStyle): void {
  for (let h = 0; h < heads; h++) {
    const base = start + h * D;
    if (style === "neox") {
      for (let d = 0; d < R; d++) {
        const x1 = a[base + d], x2 = a[base + d + R], cs = c[tab + d], sn = s[tab + d];
        a[base + d] = x1 * cs - x2 * sn;
        a[base + d + R] = x2 * cs + x1 * sn;
      }
    } else {
      for (let m = 0; m < R; m++) {
        const re = a[base + 2 * m], im = a[base + 2 * m + 1], cs = c[tab + m], sn = s[tab + m];
        a[base + 2 * m] = re * cs - im * sn;
        a[base + 2 * m + 1] = re * sn + im * cs;
      }
    }
  }
}
