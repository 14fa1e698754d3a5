// Structured output's token mask on cuda: the same logits as the cpu backend for random masks over real vocabulary
// sizes (rows listed out of order, some rows without a mask, a vocabulary that ends mid-word), and nothing else
// touched.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyTokenMask } from "../../src/kernels/token-mask.js";
import { floatPair, host, intPair, randomValues, rng, skipCuda } from "./harness.js";

describe("cuda applyTokenMask", { skip: skipCuda }, () => {
  const random = rng(13);

  test("masks the listed rows as the cpu does", async () => {
    for (const [B, V, density] of [[1, 70, 0.5], [5, 151_936, 0.01], [8, 202_048, 0.3], [3, 406, 0.9]] as const) {
      const W = Math.ceil(V / 32) + (V === 406 ? 1 : 0); // a mask wider than needed is allowed
      const rows = B === 1 ? [0] : [B - 1, 0, Math.floor(B / 2)];
      const words = new Int32Array(rows.length * W);
      for (let m = 0; m < rows.length; m++) {
        for (let t = 0; t < V; t++) if (random() < density) words[m * W + (t >> 5)] |= 1 << (t & 31);
      }
      const [cl, gl] = floatPair(randomValues(random, B * V, -4, 4), [B, V], "F32");
      const [cm, gm] = intPair(words, [rows.length, W]);
      const [cr, gr] = intPair(rows);
      applyTokenMask(cl, cm, cr);
      applyTokenMask(gl, gm, gr);
      assert.deepEqual(await host(gl), await host(cl), `applyTokenMask [${B}, ${V}]`);
    }
  });

  test("an all-allowed mask changes nothing", async () => {
    const B = 2, V = 1000, W = Math.ceil(V / 32);
    const values = randomValues(random, B * V, -1, 1);
    const [, gl] = floatPair(values, [B, V], "F32");
    const [, gm] = intPair(new Int32Array(2 * W).fill(-1), [2, W]);
    const [, gr] = intPair([1, 0]);
    applyTokenMask(gl, gm, gr);
    assert.deepEqual(await host(gl), values);
  });
});
