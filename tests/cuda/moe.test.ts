// Llama 4's routed experts on cuda (moeTop1Sigmoid) against the cpu backend: 1, 7, 64 and 300 tokens (the
// weight-streaming path up to 8 tokens, tensor cores above), shapes with partial tiles and an odd shape (the plain
// kernel), first-maximum ties in the router, skewed routing (one expert takes every token, others none), and
// experts no token picks holding NaN weights (a kernel that reads a wrong expert's weights into a result shows NaN).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { f32ToBf16 } from "../../src/core/half.js";
import type { CudaBackend } from "../../src/runtime/cuda/cuda-backend.js";
import { captureGraph, cpu, cuda, floatPair, host, poisonedPair, randomValues, rng, skipCuda } from "./harness.js";

interface Case {
  T: number; H: number; I: number; E: number;
  /** "random" logits, "skewed": expert 1 wins every token, "two": only experts 2 and E-1 are ever picked. */
  routing: "random" | "skewed" | "two";
}

/** Router logits as bf16-exact values; every fifth token gets a tie for its maximum (the lower expert must win). */
function routerLogits(random: () => number, { T, E, routing }: Case): Float32Array {
  const logits = randomValues(random, T * E, -3, 3);
  for (let t = 0; t < T; t++) {
    const row = logits.subarray(t * E, (t + 1) * E);
    if (routing === "skewed") row[1] = 4;
    if (routing === "two") row[t % 2 === 0 ? 2 : E - 1] = 4;
    if (routing === "random" && t % 5 === 0 && E > 2) {
      const top = Math.max(...row);
      row[(t * 7) % E] = top;
      row[(t * 7 + 1) % E] = top;
    }
  }
  return logits;
}

function chosenExperts(logits: Float32Array, T: number, E: number): number[] {
  return Array.from({ length: T }, (_, t) => {
    let best = 0;
    for (let e = 1; e < E; e++) if (logits[t * E + e] > logits[t * E + best]) best = e;
    return best;
  });
}

/** Per token: ||cuda - cpu|| / ||cpu|| over its row; the worst rows, with their experts, in the message. */
function expectRowsClose(actual: Float32Array, expected: Float32Array, c: Case, experts: number[], tol: number): number {
  let worst = 0;
  const bad: string[] = [];
  let diffAll = 0, normAll = 0;
  for (let t = 0; t < c.T; t++) {
    let diff = 0, norm = 0;
    for (let j = 0; j < c.H; j++) {
      const d = actual[t * c.H + j] - expected[t * c.H + j];
      diff += d * d;
      norm += expected[t * c.H + j] ** 2;
    }
    diffAll += diff;
    normAll += norm;
    const rel = Math.sqrt(diff / Math.max(norm, 1e-30));
    worst = Number.isNaN(rel) ? Infinity : Math.max(worst, rel);
    if (!(rel <= tol) && bad.length < 5) {
      bad.push(`token ${t} (expert ${experts[t]}): relative error ${rel.toExponential(2)}, cuda [${Array.from(actual.subarray(t * c.H, t * c.H + 4), (v) => v.toFixed(4))}...] ` +
        `cpu [${Array.from(expected.subarray(t * c.H, t * c.H + 4), (v) => v.toFixed(4))}...]`);
    }
  }
  const what = `moe T=${c.T} H=${c.H} I=${c.I} E=${c.E} ${c.routing}`;
  assert.equal(bad.length, 0, `${what}: ${bad.join("; ")}`);
  return Math.sqrt(diffAll / Math.max(normAll, 1e-30));
}

describe("cuda mixture of experts", { skip: skipCuda }, () => {
  const random = rng(11);
  const cases: Case[] = [];
  for (const T of [1, 7, 64, 300]) cases.push({ T, H: 256, I: 384, E: 16, routing: "random" });
  cases.push(
    { T: 300, H: 256, I: 384, E: 16, routing: "skewed" }, { T: 7, H: 256, I: 384, E: 16, routing: "two" },
    { T: 64, H: 256, I: 384, E: 16, routing: "two" }, { T: 1, H: 256, I: 384, E: 16, routing: "two" },
    { T: 5, H: 200, I: 136, E: 5, routing: "random" }, { T: 77, H: 200, I: 136, E: 5, routing: "random" },
    { T: 9, H: 64, I: 128, E: 4, routing: "random" }, { T: 3, H: 20, I: 12, E: 3, routing: "random" },
    { T: 40, H: 20, I: 12, E: 3, routing: "skewed" },
  );

  for (const c of cases) {
    test(`moeTop1Sigmoid T=${c.T} H=${c.H} I=${c.I} E=${c.E} (${c.routing} routing)`, async () => {
      const { T, H, I, E } = c;
      const logits = routerLogits(random, c);
      const experts = chosenExperts(logits, T, E);
      const used = new Set(experts);
      const x = randomValues(random, T * H, -1, 1);
      // Scaled so each product's outputs are of order one (fan-in H, then I).
      const gateUp = randomValues(random, E * H * 2 * I, -2 / Math.sqrt(H), 2 / Math.sqrt(H));
      const down = randomValues(random, E * I * H, -2 / Math.sqrt(I), 2 / Math.sqrt(I));
      const [cx, gx] = floatPair(x, [T, H]);
      const [cl, gl] = floatPair(logits, [T, E]);
      const [cg, gg] = floatPair(gateUp, [E, H, 2 * I]);
      const [cd, gd] = floatPair(down, [E, I, H]);
      const [co, go] = poisonedPair([T, H]);
      cpu.backend.moeTop1Sigmoid(co, cx, cl, cg, cd);
      if (c.routing === "two") {
        // Experts no token picks get NaN weights on cuda: the result must not touch them.
        const poisoned = (values: Float32Array, per: number) => {
          const copy = Float32Array.from(values);
          for (let e = 0; e < E; e++) if (!used.has(e)) copy.fill(NaN, e * per, (e + 1) * per);
          return copy;
        };
        const [, pg] = floatPair(poisoned(gateUp, H * 2 * I), [E, H, 2 * I]);
        const [, pd] = floatPair(poisoned(down, I * H), [E, I, H]);
        cuda().backend.moeTop1Sigmoid(go, gx, gl, pg, pd);
      } else {
        cuda().backend.moeTop1Sigmoid(go, gx, gl, gg, gd);
      }
      const rel = expectRowsClose(await host(go) as Float32Array, await host(co) as Float32Array, c, experts, 3e-2);
      console.log(`moe T=${T} H=${H} I=${I} E=${E} ${c.routing}: ${used.size} experts used, relative L2 error ${rel.toExponential(2)}`);
      assert.ok(rel <= 1.5e-2, `relative L2 error ${rel}`);
      assert.deepEqual(await host(gx), await host(cx), "x unchanged");
    });
  }

  for (const T of [4, 24]) {
    test(`moeTop1Sigmoid (T=${T}) captured in a graph replays on new inputs and routings`, async () => {
      const backend = cuda().backend as CudaBackend;
      const c: Case = { T, H: 64, I: 128, E: 4, routing: "random" };
      const bits = (values: Float32Array) => Uint16Array.from(values, f32ToBf16);
      const [cg, gg] = floatPair(randomValues(random, c.E * c.H * 2 * c.I, -0.25, 0.25), [c.E, c.H, 2 * c.I]);
      const [cd, gd] = floatPair(randomValues(random, c.E * c.I * c.H, -0.2, 0.2), [c.E, c.I, c.H]);
      const [, gx] = floatPair(randomValues(random, c.T * c.H), [c.T, c.H]);
      const [, gl] = floatPair(routerLogits(random, c), [c.T, c.E]);
      const [, go] = poisonedPair([c.T, c.H]);
      const graph = captureGraph(backend, () => backend.moeTop1Sigmoid(go, gx, gl, gg, gd));
      try {
        for (let round = 0; round < 3; round++) {
          const x = randomValues(random, c.T * c.H), logits = routerLogits(random, c);
          backend.upload(gx, bits(x));
          backend.upload(gl, bits(logits));
          backend.fill(go, NaN);
          backend.replay(graph);
          const [cx] = floatPair(x, [c.T, c.H]);
          const [cl] = floatPair(logits, [c.T, c.E]);
          const [co] = poisonedPair([c.T, c.H]);
          cpu.backend.moeTop1Sigmoid(co, cx, cl, cg, cd);
          // Replays sum in another order than an eager run may (atomic partial sums): compared with the cpu instead.
          expectRowsClose(await host(go) as Float32Array, await host(co) as Float32Array, c, chosenExperts(logits, c.T, c.E), 3e-2);
        }
      } finally {
        backend.destroyGraph(graph);
      }
    });
  }
});
