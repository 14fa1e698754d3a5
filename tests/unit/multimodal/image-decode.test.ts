/**
 * Decoding of every supported format to RGB, with PIL's convert("RGB") semantics. Expected pixels come from the
 * hand-built files (image-files.ts) or from lossless round trips through sharp's encoders.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { loadImage } from "../../../src/multimodal/image-input.js";
import { sniffImageFormat } from "../../../src/multimodal/image-decode.js";
import { encodeBmp, encodePng, randomRgb } from "./image-files.js";

const W = 5, H = 3;

function rgbOf(samples: ArrayLike<number>, channels: number, pick: (px: number[]) => number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < samples.length; i += channels) out.push(...pick(Array.from({ length: channels }, (_, c) => samples[i + c])));
  return out;
}

test("PNG: 8-bit RGB decodes to the exact samples", async () => {
  const samples = randomRgb(W, H, 7);
  const img = await loadImage(encodePng({ width: W, height: H, colorType: 2, bitDepth: 8, samples }));
  assert.equal(img.width, W);
  assert.equal(img.height, H);
  assert.deepEqual(Array.from(img.data), Array.from(samples));
});

test("PNG: grey and grey+alpha are copied to R, G and B; alpha is dropped", async () => {
  const grey = Array.from({ length: W * H }, (_, i) => (i * 17) % 256);
  const img = await loadImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: grey }));
  assert.deepEqual(Array.from(img.data), grey.flatMap((v) => [v, v, v]));
  const la = grey.flatMap((v, i) => [v, (i * 40) % 256]);
  const img2 = await loadImage(encodePng({ width: W, height: H, colorType: 4, bitDepth: 8, samples: la }));
  assert.deepEqual(Array.from(img2.data), grey.flatMap((v) => [v, v, v]));
});

test("PNG: RGBA drops the alpha without compositing, even where alpha is 0", async () => {
  const rgba = Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? (i % 8 === 3 ? 0 : 128) : (i * 29) % 256));
  const img = await loadImage(encodePng({ width: W, height: H, colorType: 6, bitDepth: 8, samples: rgba }));
  assert.deepEqual(Array.from(img.data), rgbOf(rgba, 4, (p) => p.slice(0, 3)));
});

test("PNG: a palette is expanded, its transparency ignored", async () => {
  const palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
  const indices = Array.from({ length: W * H }, (_, i) => i % 4);
  const img = await loadImage(encodePng({ width: W, height: H, colorType: 3, bitDepth: 8, samples: indices, palette, transparency: [0, 255, 128, 0] }));
  assert.deepEqual(Array.from(img.data), indices.flatMap((k) => palette.slice(k * 3, k * 3 + 3)));
});

test("PNG: 16-bit RGB, RGBA and LA keep the high byte; 16-bit grey clips to 255 like PIL's I;16", async () => {
  const rgb16 = Array.from({ length: W * H * 3 }, (_, i) => (i * 4099) % 65536);
  const img = await loadImage(encodePng({ width: W, height: H, colorType: 2, bitDepth: 16, samples: rgb16 }));
  assert.deepEqual(Array.from(img.data), rgb16.map((v) => v >> 8));
  const rgba16 = Array.from({ length: W * H * 4 }, (_, i) => (i * 7919) % 65536);
  const img4 = await loadImage(encodePng({ width: W, height: H, colorType: 6, bitDepth: 16, samples: rgba16 }));
  assert.deepEqual(Array.from(img4.data), rgbOf(rgba16, 4, (p) => p.slice(0, 3).map((v) => v >> 8)));
  const la16 = Array.from({ length: W * H * 2 }, (_, i) => (i * 3001) % 65536);
  const img3 = await loadImage(encodePng({ width: W, height: H, colorType: 4, bitDepth: 16, samples: la16 }));
  assert.deepEqual(Array.from(img3.data), rgbOf(la16, 2, (p) => [p[0] >> 8, p[0] >> 8, p[0] >> 8]));
  const grey16 = [0, 5, 200, 255, 256, 4660, 65535, 17, 300, 1, 2, 3, 254, 1000, 99];
  const img2 = await loadImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: 16, samples: grey16 }));
  assert.deepEqual(Array.from(img2.data), grey16.flatMap((v) => { const c = Math.min(v, 255); return [c, c, c]; }));
});

test("lossless WebP and TIFF, and few-colour GIF, round-trip exactly through sharp's encoders", async () => {
  const samples = randomRgb(8, 6, 3);
  const raw = sharp(Buffer.from(samples), { raw: { width: 8, height: 6, channels: 3 } });
  for (const encoded of [await raw.clone().webp({ lossless: true }).toBuffer(), await raw.clone().tiff({ compression: "lzw" }).toBuffer()]) {
    const img = await loadImage(encoded);
    assert.deepEqual(Array.from(img.data), Array.from(samples), `format ${sniffImageFormat(encoded)}`);
  }
  const fourColours = Uint8Array.from({ length: 8 * 6 * 3 }, (_, i) => [0, 255, 0, 255][Math.floor(i / 3) % 4] ^ (i % 3 === 1 ? 255 : 0));
  const gif = await sharp(Buffer.from(fourColours), { raw: { width: 8, height: 6, channels: 3 } }).gif({ dither: 0 }).toBuffer();
  assert.equal(sniffImageFormat(gif), "gif");
  assert.deepEqual(Array.from((await loadImage(gif)).data), Array.from(fourColours));
});

test("JPEG decodes to the right size and close to the source", async () => {
  const flat = new Uint8Array(16 * 16 * 3).map((_, i) => [200, 100, 50][i % 3]);
  const jpeg = await sharp(Buffer.from(flat), { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
  const img = await loadImage(jpeg);
  assert.equal(img.width, 16);
  assert.equal(img.height, 16);
  for (let i = 0; i < flat.length; i++) assert.ok(Math.abs(img.data[i] - flat[i]) <= 3, `sample ${i}: ${img.data[i]} vs ${flat[i]}`);
});

test("CMYK JPEG: converted with PIL's profile-free formula, not a colour profile", async () => {
  const flat = new Uint8Array(8 * 8 * 3).map((_, i) => [200, 100, 50][i % 3]);
  const jpeg = await sharp(Buffer.from(flat), { raw: { width: 8, height: 8, channels: 3 } }).toColourspace("cmyk").jpeg({ quality: 100 }).toBuffer();
  const cmyk = await sharp(jpeg).toColourspace("cmyk").raw().toBuffer();
  const img = await loadImage(jpeg);
  for (let i = 0; i < 8 * 8; i++) {
    const [c, m, y, k] = cmyk.subarray(i * 4, i * 4 + 4);
    const expected = [c, m, y].map((v) => Math.round((255 - k) * (1 - v / 255)));
    for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(img.data[i * 3 + ch] - expected[ch]) <= 1, `pixel ${i}`);
  }
});

// ==== BMP (our decoder) ====

const px = (r: number, g: number, b: number): number[] => [r, g, b];

test("BMP: 24-bit bottom-up and top-down, 32-bit BGRX", async () => {
  const rgb = [px(1, 2, 3), px(4, 5, 6), px(250, 128, 0), px(7, 8, 9), px(10, 11, 12), px(13, 14, 15)]; // 3x2
  const bgrRow = (r: number[][]): Uint8Array => Uint8Array.from(r.flatMap(([a, b, c]) => [c, b, a]));
  const rows = [bgrRow(rgb.slice(0, 3)), bgrRow(rgb.slice(3))];
  for (const topDown of [false, true]) {
    const img = await loadImage(encodeBmp({ width: 3, height: 2, bitsPerPixel: 24, rows, topDown }));
    assert.deepEqual(Array.from(img.data), rgb.flat(), `topDown ${topDown}`);
  }
  const rows32 = [rgb.slice(0, 3), rgb.slice(3)].map((r) => Uint8Array.from(r.flatMap(([a, b, c]) => [c, b, a, 77])));
  const img32 = await loadImage(encodeBmp({ width: 3, height: 2, bitsPerPixel: 32, rows: rows32 }));
  assert.deepEqual(Array.from(img32.data), rgb.flat());
});

test("BMP: 8-bit and 1-bit palettes, RLE8, and 16-bit 5-6-5 bit fields widened as PIL does", async () => {
  const palette: [number, number, number][] = [[0, 0, 0], [30, 20, 10], [255, 255, 255]]; // BGR
  const img8 = await loadImage(encodeBmp({ width: 3, height: 1, bitsPerPixel: 8, rows: [Uint8Array.from([1, 2, 0])], palette }));
  assert.deepEqual(Array.from(img8.data), [10, 20, 30, 255, 255, 255, 0, 0, 0]);

  const img1 = await loadImage(encodeBmp({ width: 10, height: 1, bitsPerPixel: 1, rows: [Uint8Array.from([0b10110000, 0b01000000])], palette: [[0, 0, 0], [255, 255, 255]] }));
  assert.deepEqual(Array.from(img1.data).filter((_, i) => i % 3 === 0), [255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);

  // RLE8, 4x2: bottom row "run of 3 x index 1, then literal [2]"; top row "run of 4 x index 2"; end of bitmap.
  const rle = [3, 1, 0, 3, 2, 0, 0, 0, 0, 0, 4, 2, 0, 1];
  const imgRle = await loadImage(encodeBmp({ width: 4, height: 2, bitsPerPixel: 8, rows: [], palette, rle: { compression: 1, data: rle } }));
  assert.deepEqual(Array.from(imgRle.data), [...Array(4).fill([255, 255, 255]).flat(), ...Array(3).fill([10, 20, 30]).flat(), 255, 255, 255]);

  // 5-6-5: red 31 -> 255, green 32 -> floor(32 * 255 / 63) = 129, blue 1 -> floor(255 / 31) = 8.
  const value = (31 << 11) | (32 << 5) | 1;
  const img16 = await loadImage(encodeBmp({ width: 1, height: 1, bitsPerPixel: 16, rows: [Uint8Array.from([value & 255, value >> 8])], masks: [0xf800, 0x7e0, 0x1f] }));
  assert.deepEqual(Array.from(img16.data), [255, 129, 8]);
});

test("decoded pixels: 1, 2, 3 and 4 channels become RGB; the caller's buffer is copied", async () => {
  const data = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80]);
  assert.deepEqual(Array.from((await loadImage({ data, width: 4, height: 2, channels: 1 })).data), Array.from(data).flatMap((v) => [v, v, v]));
  assert.deepEqual(Array.from((await loadImage({ data, width: 2, height: 2, channels: 2 })).data), [10, 10, 10, 30, 30, 30, 50, 50, 50, 70, 70, 70]);
  assert.deepEqual(Array.from((await loadImage({ data, width: 2, height: 1, channels: 4 })).data), [10, 20, 30, 50, 60, 70]);
  const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const img = await loadImage({ data: rgb, width: 2, height: 1, channels: 3 });
  rgb[0] = 99;
  assert.deepEqual(Array.from(img.data), [1, 2, 3, 4, 5, 6]);
  const clamped = new Uint8ClampedArray([9, 8, 7]);
  assert.deepEqual(Array.from((await loadImage({ data: clamped, width: 1, height: 1 })).data), [9, 8, 7]);
});

test("format sniffing refuses what PIL would not open as an image", () => {
  assert.equal(sniffImageFormat(Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>")), undefined);
  assert.equal(sniffImageFormat(Buffer.from([0x89, 0x50, 0x4e])), undefined);
  assert.equal(sniffImageFormat(Buffer.from("RIFF\0\0\0\0WEBPVP8 ", "latin1")), "webp");
});
