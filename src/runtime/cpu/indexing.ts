import type { Tensor } from "../tensor.js";
import { checkIndex, elements, i32 } from "./storage.js";

export function embedding(out: Tensor, ids: Tensor, table: Tensor): void {
  gather("embedding", "token id", out, table, ids);
}

export function embeddingShard(out: Tensor, ids: Tensor, table: Tensor, start: number): void {
  const o = elements(out), a = elements(table), idx = i32(ids);
  const rows = table.shape[0], width = table.shape[1];
  for (let t = 0; t < idx.length; t++) {
    const r = idx[t] - start;
    if (r >= 0 && r < rows) o.set(a.subarray(r * width, (r + 1) * width), t * width);
    else o.fill(0, t * width, (t + 1) * width);
  }
}

export function gatherRows(out: Tensor, x: Tensor, index: Tensor): void {
  gather("gatherRows", "index", out, x, index);
}

function gather(kernel: string, what: string, out: Tensor, x: Tensor, index: Tensor): void {
  const o = elements(out), a = elements(x), idx = i32(index);
  const rows = x.shape[0], width = x.shape[1];
  for (let m = 0; m < idx.length; m++) {
    const r = idx[m];
    checkIndex(kernel, what, r, rows);
    o.set(a.subarray(r * width, (r + 1) * width), m * width);
  }
}

export function scatterRows(dst: Tensor, index: Tensor, src: Tensor): void {
  const d = elements(dst), s = elements(src), idx = i32(index);
  const rows = dst.shape[0], width = dst.shape[1];
  // Check every index before writing, so a bad index leaves dst untouched.
  for (let n = 0; n < idx.length; n++) checkIndex("scatterRows", "index", idx[n], rows);
  for (let n = 0; n < idx.length; n++) d.set(s.subarray(n * width, (n + 1) * width), idx[n] * width);
}
