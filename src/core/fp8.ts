/**
 * FP8 E4M3 as NVIDIA and the OCP 8-bit floating point spec define it ("E4M3FN"): 1 sign bit, 4 exponent bits
 * (bias 7), 3 mantissa bits, subnormals, no infinities, and one NaN pattern per sign (S.1111.111), so the largest
 * finite value is 448 (S.1111.110). Encoding rounds to nearest even and saturates to ±448, as the GPU's
 * `cvt.rn.satfinite.e4m3x2.f32` does, so the cpu reference and the cuda kernels produce the same bytes.
 */

/** The largest finite E4M3 value. */
export const E4M3_MAX = 448;

/** The canonical NaN the conversion instruction writes (sign clear). */
const NAN_BITS = 0x7f;

const DECODE = (() => {
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exponent = (b >> 3) & 0xf;
    const mantissa = b & 7;
    if (exponent === 0xf && mantissa === 7) table[b] = NaN;
    else if (exponent === 0) table[b] = sign * mantissa * 2 ** -9;
    else table[b] = sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
  }
  return table;
})();

/** The value of each of the 256 bytes (a lookup table: decoding is the hot loop of the cpu FP8 products). */
export function e4m3Table(): Float32Array {
  return DECODE;
}

export function e4m3ToF32(bits: number): number {
  return DECODE[bits & 0xff];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a non-negative value to an integer, ties to even. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The E4M3 byte nearest `value` (first rounded to float32, as the GPU converts float32), ±448 past the range. */
export function f32ToE4m3(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 24) & 0x80;
  const a = Math.abs(f32[0]);
  if (Number.isNaN(a)) return NAN_BITS;
  if (a >= E4M3_MAX) return sign | 0x7e; // satfinite: everything past the largest finite value (infinity too)
  // Below 2^-6 the format is subnormal: multiples of 2^-9 (a result of 8 is 2^-6, the first normal, bits 0x08).
  if (a < 2 ** -6) return sign | roundHalfEven(a * 2 ** 9);
  const exponent = ((bits >>> 23) & 0xff) - 127; // a is a normal float32 here
  // The mantissa as an integer in [8, 16]: 16 carries into the next exponent, which the addition below handles.
  const q = roundHalfEven(a * 2 ** (3 - exponent));
  return sign | (((exponent + 7) << 3) + (q - 8));
}
