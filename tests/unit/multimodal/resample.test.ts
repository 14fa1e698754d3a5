/**
 * The torchvision-exact uint8 resize. Bit-exactness against torchvision is checked by the processor parity tests
 * (tests/models); here: the fixed-point weights on a case worked out by hand, agreement within one level with a plain
 * float64 antialiased convolution (Pillow's definition) for up- and downscaling, and the structural properties.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { computeAxisWeights, resizeUint8, type PixelBuffer, type ResampleFilter } from "../../../src/multimodal/resample.js";
import { randomRgb } from "./image-files.js";

test("bilinear 8 -> 4: weights 3/7, 3/7, 1/7 at the edge and 1/8, 3/8, 3/8, 1/8 inside, at 16-bit precision", () => {
  const w = computeAxisWeights(8, 4, "bilinear");
  // Largest weight 3/7: 2 * 3/7 * 2^16 = 56174 >= 2^15 stops the search at 16 bits.
  assert.equal(w.precision, 16);
  assert.equal(w.taps, 5); // ceil(support 2) * 2 + 1
  assert.deepEqual([w.start[0], w.count[0]], [0, 3]);
  assert.deepEqual(Array.from(w.weights.subarray(0, 3)), [28087, 28087, 9362]); // round(2^16 * [3, 3, 1] / 7)
  assert.deepEqual([w.start[1], w.count[1]], [1, 4]);
  assert.deepEqual(Array.from(w.weights.subarray(5, 9)), [8192, 24576, 24576, 8192]);
});

/** Pillow's antialiased resampling in float64, with no fixed point and no intermediate rounding. */
function floatResize(src: PixelBuffer, width: number, height: number, filter: ResampleFilter): Float64Array {
  const kernel = filter === "bilinear"
    ? (x: number) => Math.max(0, 1 - Math.abs(x))
    : (x: number) => {
      const a = -0.5, t = Math.abs(x);
      return t < 1 ? (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1 : t < 2 ? a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a : 0;
    };
  const radius = filter === "bilinear" ? 1 : 2;
  const axis = (inSize: number, outSize: number): { first: number; w: number[] }[] => {
    const scale = inSize / outSize, stretch = Math.max(scale, 1), support = radius * stretch;
    return Array.from({ length: outSize }, (_, i) => {
      const center = (i + 0.5) * scale;
      const first = Math.max(0, Math.floor(center - support + 0.5));
      const last = Math.min(inSize, Math.floor(center + support + 0.5));
      const w = Array.from({ length: last - first }, (_, k) => kernel((first + k + 0.5 - center) / stretch));
      const sum = w.reduce((a, b) => a + b, 0);
      return { first, w: w.map((v) => v / sum) };
    });
  };
  const c = src.channels;
  const horizontal = axis(src.width, width), vertical = axis(src.height, height);
  const mid = new Float64Array(src.height * width * c);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < c; ch++) {
        const { first, w } = horizontal[x];
        let v = 0;
        w.forEach((wk, k) => (v += wk * src.data[(y * src.width + first + k) * c + ch]));
        mid[(y * width + x) * c + ch] = v;
      }
    }
  }
  const out = new Float64Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const { first, w } = vertical[y];
    for (let i = 0; i < width * c; i++) {
      let v = 0;
      w.forEach((wk, k) => (v += wk * mid[(first + k) * width * c + i]));
      out[y * width * c + i] = v;
    }
  }
  return out;
}

test("agrees within one level with float64 antialiased resampling, up and down, both filters", () => {
  // Values in 64..191, so that even bicubic ringing stays within 0..255 and nothing is clamped.
  const data = randomRgb(37, 23, 9).map((v) => 64 + (v >> 1));
  const src: PixelBuffer = { width: 37, height: 23, channels: 3, data };
  for (const filter of ["bilinear", "bicubic"] as const) {
    for (const [w, h] of [[12, 9], [80, 51], [37, 60], [5, 23], [100, 7]]) {
      const ours = resizeUint8(src, w, h, filter);
      const ref = floatResize(src, w, h, filter);
      assert.equal(ours.data.length, w * h * 3);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - Math.round(ref[i])));
      assert.ok(worst <= 1, `${filter} 37x23 -> ${w}x${h}: off by ${worst}`);
    }
  }
});

test("a constant image stays constant; the same size is a no-op that returns the input", () => {
  const src: PixelBuffer = { width: 13, height: 7, channels: 3, data: new Uint8Array(13 * 7 * 3).fill(201) };
  for (const filter of ["bilinear", "bicubic"] as const) {
    for (const [w, h] of [[3, 2], [40, 29], [13, 30], [2, 7]]) {
      assert.ok(resizeUint8(src, w, h, filter).data.every((v) => v === 201), `${filter} ${w}x${h}`);
    }
    assert.equal(resizeUint8(src, 13, 7, filter), src);
  }
});

test("only the axis that changes is resampled: a width-only resize leaves each row's own values", () => {
  const data = randomRgb(20, 4, 2);
  const src: PixelBuffer = { width: 20, height: 4, channels: 3, data };
  const both = resizeUint8(src, 9, 4, "bicubic");
  for (let y = 0; y < 4; y++) {
    const row: PixelBuffer = { width: 20, height: 1, channels: 3, data: data.subarray(y * 60, (y + 1) * 60) };
    assert.deepEqual(Array.from(resizeUint8(row, 9, 1, "bicubic").data), Array.from(both.data.subarray(y * 27, (y + 1) * 27)));
  }
});

test("bicubic overshoot is clamped to 0..255", () => {
  const data = new Uint8Array(16 * 3);
  for (let x = 8; x < 16; x++) data.fill(255, x * 3, x * 3 + 3); // a hard edge rings under a cubic filter
  const up = resizeUint8({ width: 16, height: 1, channels: 3, data }, 64, 1, "bicubic");
  const ref = floatResize({ width: 16, height: 1, channels: 3, data }, 64, 1, "bicubic");
  assert.ok(ref.some((v) => v < -0.5) && ref.some((v) => v > 255.5), "the test image must ring");
  assert.ok(up.data.includes(0) && up.data.includes(255));
});
