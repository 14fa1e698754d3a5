/**
 * Rotary inverse frequencies, computed in float32 the way the reference does (torch builds them from a float32
 * arange), so angles match to the last bit where it matters: at long positions an error in inv_freq grows with p.
 */
import type { RopeScaling } from "../checkpoint/decoder-config.js";

const f32 = Math.fround;

/** inv_freq[j] = 1 / theta^(2j / dim) for j < dim/2, each step rounded to float32. */
export function defaultInvFreq(dim: number, theta: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let j = 0; j < out.length; j++) out[j] = f32(1 / f32(Math.pow(theta, f32((2 * j) / dim))));
  return out;
}

/**
 * Llama 3 frequency scaling: wavelengths longer than `original / lowFreqFactor` are divided by `factor`, shorter
 * than `original / highFreqFactor` kept, and those between blended. With equal low and high factors (Llama 4
 * Scout) the blend band is empty; the reference computes a 0/0 there that it never selects, so skip it.
 */
export function llama3InvFreq(dim: number, theta: number, s: Extract<RopeScaling, { kind: "llama3" }>): Float32Array {
  const base = defaultInvFreq(dim, theta);
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out = new Float32Array(base.length);
  for (let j = 0; j < base.length; j++) {
    const inv = base[j];
    const wavelen = f32((2 * Math.PI) / inv);
    if (wavelen > lowFreqWavelen) out[j] = f32(inv / s.factor);
    else if (wavelen < highFreqWavelen || s.highFreqFactor === s.lowFreqFactor) out[j] = inv;
    else {
      const smooth = f32((s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      out[j] = f32(f32((1 - smooth) * f32(inv / s.factor)) + f32(smooth * inv));
    }
  }
  return out;
}

/** The decoder's inverse frequencies for its rope settings (M-RoPE uses the default ones, split by sections). */
export function decoderInvFreq(headDim: number, theta: number, rope: RopeScaling): Float32Array {
  return rope.kind === "llama3" ? llama3InvFreq(headDim, theta, rope) : defaultInvFreq(headDim, theta);
}

/**
 * For M-RoPE: which position row (0 = t, 1 = h, 2 = w) each of the head_dim/2 frequencies takes its position
 * from. Qwen2.5-VL's sections are contiguous blocks of frequency indices, e.g. [16, 24, 24].
 */
export function mropeSectionMap(section: readonly number[]): Int32Array {
  const total = section.reduce((a, b) => a + b, 0);
  const out = new Int32Array(total);
  let j = 0;
  section.forEach((size, row) => {
    for (let k = 0; k < size; k++) out[j++] = row;
  });
  return out;
}
