/**
 * Llama 4's attention temperature tuning (model-facts B3), a per-token table computed on the host like positions:
 * NoPE layers multiply each query by 1 + attn_scale * ln(1 + floor((p + 1) / floor_scale)), p the token's cache
 * position. Each step is rounded to float32 as the reference computes it in float32 tensors.
 */
const f32 = Math.fround;

export function attentionTemperatures(cachePositions: Int32Array, attnScale: number, floorScale: number,
  out: Float32Array = new Float32Array(cachePositions.length)): Float32Array {
  const scale = f32(attnScale);
  for (let i = 0; i < cachePositions.length; i++) {
    const steps = Math.floor(f32(f32(cachePositions[i] + 1) / floorScale));
    out[i] = f32(f32(f32(Math.log1p(steps)) * scale) + 1);
  }
  return out;
}
