import type { Tensor } from "../runtime/tensor.js";
import { expectDType, expectRank, expectShape, output, sameDevice } from "./check.js";

/**
 * Rotary tables cos, sin F32 [T, R] with angle[t, j] = positions[t, section[j]] * invFreq[j]. positions I32 [T, P];
 * invFreq F32 [R]; section I32 [R] picks the position row of each frequency (null when P = 1): [t]*16 + [h]*24 +
 * [w]*24 for Qwen's M-RoPE, [row]*20 + [col]*20 for Qwen's vision RoPE, [x]*22 + [y]*22 for Llama 4's vision.
 */
export function ropeCosSin(positions: Tensor, invFreq: Tensor, section: Tensor | null = null,
  out?: { cos: Tensor; sin: Tensor }): { cos: Tensor; sin: Tensor } {
  const kernel = "ropeCosSin";
  const device = sameDevice(kernel, { positions, invFreq, section, cos: out?.cos, sin: out?.sin });
  expectDType(kernel, "positions", positions, "I32");
  expectRank(kernel, "positions", positions, 2);
  expectDType(kernel, "invFreq", invFreq, "F32");
  expectRank(kernel, "invFreq", invFreq, 1);
  const T = positions.shape[0], R = invFreq.shape[0];
  if (section === null) expectShape(kernel, "positions (no section given)", positions, ["T", 1]);
  else {
    expectDType(kernel, "section", section, "I32");
    expectShape(kernel, "section", section, [R]);
  }
  const cos = output(kernel, device, out?.cos, [T, R], "F32");
  const sin = output(kernel, device, out?.sin, [T, R], "F32");
  device.backend.ropeCosSin(cos, sin, positions, invFreq, section);
  return { cos, sin };
}
