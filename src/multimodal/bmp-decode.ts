/**
 * A BMP decoder, because the installed sharp (libvips without ImageMagick) does not read BMP.
 * Covers what PIL's BmpImagePlugin opens in practice: OS/2 (12-byte) and Windows (40/52/56/108/124-byte) headers;
 * 1, 4 and 8 bits with a palette (uncompressed, RLE8, RLE4); 16, 24 and 32 bits, plain or with bit-field masks.
 * The output is RGB: PIL drops the alpha on convert("RGB"), and treats plain 32-bit data as BGRX anyway.
 * Samples narrower than 8 bits are widened as PIL's unpackers do: `value * 255 / max`, rounded down.
 */
import type { RgbImage } from "./image-types.js";

export class BmpFormatError extends Error {}

function fail(problem: string): never {
  throw new BmpFormatError(problem);
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  dataOffset: number;
  masks: [number, number, number];
  palette: Uint8Array; // RGB triplets
}

const BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_ALPHABITFIELDS = 6;

function readHeader(bytes: Uint8Array): BmpHeader {
  if (bytes.length < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) fail("not a BMP file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number, height: number, bitsPerPixel: number, compression = BI_RGB, colorsUsed = 0;
  let paletteEntryBytes = 4;
  if (headerSize === 12) {
    width = view.getUint16(18, true);
    height = view.getInt16(20, true);
    bitsPerPixel = view.getUint16(24, true);
    paletteEntryBytes = 3;
  } else if (headerSize >= 40 && bytes.length >= 14 + 40) {
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bitsPerPixel = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
  } else {
    fail(`unsupported BMP header of ${headerSize} bytes`);
  }
  if (width <= 0 || height === 0) fail(`invalid BMP size ${width}x${height}`);

  let masks: [number, number, number] = bitsPerPixel === 16 ? [0x7c00, 0x3e0, 0x1f] : [0xff0000, 0xff00, 0xff];
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    // The masks follow a 40-byte header, or sit inside the larger ones at the same place.
    if (bytes.length < 14 + 40 + 12) fail("truncated BMP bit-field masks");
    masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
    if (masks.some((m) => m === 0)) fail("BMP bit-field mask is zero");
  } else if (compression !== BI_RGB && compression !== BI_RLE8 && compression !== BI_RLE4) {
    fail(`unsupported BMP compression ${compression}`);
  }

  let palette = new Uint8Array(0);
  if (bitsPerPixel <= 8) {
    const count = colorsUsed > 0 ? Math.min(colorsUsed, 256) : 1 << bitsPerPixel;
    let at = 14 + headerSize;
    if (headerSize === 40 && (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS)) at += compression === BI_BITFIELDS ? 12 : 16;
    if (at + count * paletteEntryBytes > bytes.length) fail("truncated BMP palette");
    palette = new Uint8Array(256 * 3); // entries past the palette read as black
    for (let i = 0; i < count; i++, at += paletteEntryBytes) {
      palette[i * 3] = bytes[at + 2];
      palette[i * 3 + 1] = bytes[at + 1];
      palette[i * 3 + 2] = bytes[at];
    }
  } else if (bitsPerPixel !== 16 && bitsPerPixel !== 24 && bitsPerPixel !== 32) {
    fail(`unsupported BMP bit depth ${bitsPerPixel}`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) fail(`unsupported BMP bit depth ${bitsPerPixel}`);
  if ((compression === BI_RLE8 && bitsPerPixel !== 8) || (compression === BI_RLE4 && bitsPerPixel !== 4)) {
    fail("BMP run-length compression does not match the bit depth");
  }
  if (dataOffset >= bytes.length) fail("BMP pixel data offset is past the end of the file");
  return { width, height: Math.abs(height), topDown: height < 0, bitsPerPixel, compression, dataOffset, masks, palette };
}

/** Shift and width of a bit-field mask, to widen its value as PIL does. */
function maskShape(mask: number): { shift: number; max: number } {
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

function decodeUncompressed(bytes: Uint8Array, h: BmpHeader, out: Uint8Array): void {
  const { width, height, bitsPerPixel: bpp, palette } = h;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (h.dataOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8) > bytes.length) fail("truncated BMP pixel data");
  const shapes = h.masks.map(maskShape);
  for (let row = 0; row < height; row++) {
    const y = h.topDown ? row : height - 1 - row;
    const at = h.dataOffset + row * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bpp <= 8) {
        const bit = x * bpp;
        const index = (bytes[at + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[index * 3];
        out[o + 1] = palette[index * 3 + 1];
        out[o + 2] = palette[index * 3 + 2];
      } else if (bpp === 24) {
        const p = at + x * 3;
        out[o] = bytes[p + 2];
        out[o + 1] = bytes[p + 1];
        out[o + 2] = bytes[p];
      } else {
        const p = at + x * (bpp >> 3);
        const value = bpp === 16 ? bytes[p] | (bytes[p + 1] << 8) : (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
        for (let c = 0; c < 3; c++) {
          const { shift, max } = shapes[c];
          out[o + c] = Math.floor((((value >>> shift) & max) * 255) / max);
        }
      }
    }
  }
}

/** RLE8 / RLE4: runs and literal groups per row, rows bottom-up; pixels never written stay palette entry 0. */
function decodeRunLength(bytes: Uint8Array, h: BmpHeader, out: Uint8Array): void {
  const { width, height, palette } = h;
  const four = h.compression === BI_RLE4;
  const indices = new Uint8Array(width * height);
  let x = 0, row = 0, p = h.dataOffset;
  const put = (index: number): void => {
    if (x < width && row < height) indices[row * width + x] = index;
    x++;
  };
  while (p + 1 < bytes.length && row < height) {
    const count = bytes[p], value = bytes[p + 1];
    p += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(four ? (i & 1 ? value & 15 : value >> 4) : value);
    } else if (value === 0) {
      x = 0;
      row++;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      if (p + 1 >= bytes.length) fail("truncated BMP run-length data");
      x += bytes[p];
      row += bytes[p + 1];
      p += 2;
    } else {
      const literalBytes = four ? Math.ceil(value / 2) : value;
      if (p + literalBytes > bytes.length) fail("truncated BMP run-length data");
      for (let i = 0; i < value; i++) put(four ? (i & 1 ? bytes[p + (i >> 1)] & 15 : bytes[p + (i >> 1)] >> 4) : bytes[p + i]);
      p += literalBytes + (literalBytes & 1); // literal groups are padded to 16 bits
    }
  }
  for (let r = 0; r < height; r++) {
    const y = h.topDown ? r : height - 1 - r;
    for (let i = 0; i < width; i++) {
      const index = indices[r * width + i], o = (y * width + i) * 3;
      out[o] = palette[index * 3];
      out[o + 1] = palette[index * 3 + 1];
      out[o + 2] = palette[index * 3 + 2];
    }
  }
}

/** Width and height from the header alone, to check a pixel limit before decoding. */
export function bmpSize(bytes: Uint8Array): { width: number; height: number } {
  const { width, height } = readHeader(bytes);
  return { width, height };
}

export function decodeBmp(bytes: Uint8Array): RgbImage {
  const header = readHeader(bytes);
  const out = new Uint8Array(header.width * header.height * 3);
  if (header.compression === BI_RLE8 || header.compression === BI_RLE4) decodeRunLength(bytes, header, out);
  else decodeUncompressed(bytes, header, out);
  return { width: header.width, height: header.height, data: out };
}
