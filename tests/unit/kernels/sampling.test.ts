import { test } from "node:test";
import assert from "node:assert/strict";
import { argmax } from "../../../src/kernels/argmax.js";
import { applyPenalties } from "../../../src/kernels/penalties.js";
import { sample } from "../../../src/kernels/sample.js";
import { assertIrisError, f32Tensor, i32Tensor, randomArray, read, readInt, rng } from "./helpers.js";

interface Row { temperature: number; topK: number; topP: number; minP: number; uniform: number }

function runSample(logits: number[][], rows: Row[]): Promise<Int32Array> {
  const V = logits[0].length;
  const col = (f: (r: Row) => number) => f32Tensor(rows.map(f), [rows.length]);
  const out = sample(f32Tensor(logits.flat(), [logits.length, V]), {
    temperature: col((r) => r.temperature), topK: i32Tensor(rows.map((r) => r.topK)), topP: col((r) => r.topP),
    minP: col((r) => r.minP), uniform: col((r) => r.uniform),
  });
  return readInt(out);
}

const ALL = -1;
const row = (over: Partial<Row>): Row => ({ temperature: 1, topK: ALL, topP: 1, minP: 0, uniform: 0.5, ...over });

/** The sampling contract written plainly: full sort, filters, then the draw in token-id order. */
function referenceSample(logits: ArrayLike<number>, r: Row): number {
  const V = logits.length, values = Array.from(logits, Math.fround);
  const first = values.indexOf(Math.max(...values));
  if (r.temperature < 1e-6 || r.topK === 1) return first;
  const w = values.map((l) => Math.exp((l - values[first]) / r.temperature));
  const total = w.reduce((a, b) => a + b, 0);
  const p = w.map((x) => x / total);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  const k = r.topK <= 0 || r.topK >= V ? V : r.topK;
  const keep = new Set<number>();
  let before = 0;
  for (const [i, id] of order.entries()) {
    if (i >= k || (r.topP < 1 && before > Math.fround(r.topP)) || p[id] < Math.fround(r.minP) * p[order[0]]) break;
    keep.add(id);
    before += p[id];
  }
  const mass = [...keep].reduce((a, id) => a + p[id], 0);
  let acc = 0, last = -1;
  for (let id = 0; id < V; id++) {
    if (!keep.has(id)) continue;
    last = id;
    acc += p[id];
    if (acc > Math.fround(r.uniform) * mass) return id;
  }
  return last;
}

test("argmax takes the first maximum of each row", async () => {
  const out = argmax(f32Tensor([1, 5, 5, -2, -7, -1, -1, -3], [2, 4]));
  assert.deepEqual(Array.from(await readInt(out)), [1, 1]);
});

test("temperature 0 and top-k 1 are greedy whatever the uniform number", async () => {
  const logits = [[0.1, 2, 2, -1, 1.9]];
  for (const uniform of [0, 0.5, 0.999]) {
    assert.deepEqual(Array.from(await runSample(logits, [row({ temperature: 0, uniform })])), [1]);
    assert.deepEqual(Array.from(await runSample(logits, [row({ topK: 1, temperature: 5, uniform })])), [1]);
  }
});

// probabilities 0.05, 0.5, 0.15, 0.3 at temperature 1
const SMALL = [[0.05, 0.5, 0.15, 0.3].map(Math.log)];

async function keptSet(logits: number[][], over: Partial<Row>): Promise<number[]> {
  const grid = Array.from({ length: 200 }, (_, i) => (i + 0.5) / 200);
  const tokens = await runSample(grid.map(() => logits[0]), grid.map((uniform) => row({ ...over, uniform })));
  return [...new Set(tokens)].sort((a, b) => a - b);
}

test("top-k, top-p and min-p keep exactly the expected tokens of a small vocabulary", async () => {
  assert.deepEqual(await keptSet(SMALL, {}), [0, 1, 2, 3]);
  assert.deepEqual(await keptSet(SMALL, { topK: 2 }), [1, 3]);
  assert.deepEqual(await keptSet(SMALL, { topK: 1 << 30 }), [0, 1, 2, 3]);
  // mass before each token, by probability: 0 (id 1), 0.5 (id 3), 0.8 (id 2), 0.95 (id 0)
  assert.deepEqual(await keptSet(SMALL, { topP: 0.7 }), [1, 3]);
  assert.deepEqual(await keptSet(SMALL, { topP: 0.4 }), [1]);
  assert.deepEqual(await keptSet(SMALL, { topP: 0.9 }), [1, 2, 3]);
  // min-p is relative to the largest probability (0.5)
  assert.deepEqual(await keptSet(SMALL, { minP: 0.5 }), [1, 3]);
  assert.deepEqual(await keptSet(SMALL, { minP: 0.2 }), [1, 2, 3]);
  assert.deepEqual(await keptSet(SMALL, { topK: 3, topP: 0.9, minP: 0.5 }), [1, 3]);
});

test("the draw walks the kept tokens in id order: token boundaries fall at cumulative kept mass", async () => {
  // top-k 2 keeps ids 1 (0.5) and 3 (0.3): id 1 below u = 0.5 / 0.8 = 0.625, id 3 above.
  const tokens = await runSample([SMALL[0], SMALL[0], SMALL[0]], [row({ topK: 2, uniform: 0 }), row({ topK: 2, uniform: 0.62 }),
    row({ topK: 2, uniform: 0.63 })]);
  assert.deepEqual(Array.from(tokens), [1, 1, 3]);
  // Temperature 2 flattens to sqrt(p): cumulative in id order 0.120, 0.499, 0.706, 1.
  const hot = await runSample([0, 1, 2, 3].map(() => SMALL[0]), [0.1, 0.2, 0.55, 0.9].map((uniform) => row({ temperature: 2, uniform })));
  assert.deepEqual(Array.from(hot), [0, 1, 2, 3]);
});

test("sampling matches the plain reference on random rows and parameters", async () => {
  const random = rng(100);
  for (const V of [50, 5000]) {
    const logits: number[][] = [], rows: Row[] = [];
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    for (let i = 0; i < (V === 50 ? 300 : 40); i++) {
      logits.push(Array.from(randomArray(V, random, pick([1, 4, 12]))));
      rows.push({ temperature: pick([0, 0.3, 0.7, 1, 1.5]), topK: pick([ALL, 1 << 30, 1, 3, 10, 60]), topP: pick([1, 0.95, 0.6, 0.1]),
        minP: pick([0, 0, 0.05, 0.3]), uniform: random() });
    }
    const got = await runSample(logits, rows);
    rows.forEach((r, i) => assert.equal(got[i], referenceSample(logits[i], r), `V=${V} row ${i} ${JSON.stringify(r)}`));
  }
});

test("sampling is deterministic for fixed uniform numbers and leaves the logits unchanged", async () => {
  const random = rng(101);
  const V = 300, B = 5;
  const data = randomArray(B * V, random, 3);
  const logits = f32Tensor(data, [B, V]);
  const params = {
    temperature: f32Tensor([0.8, 1, 1.2, 0.5, 2], [B]), topK: i32Tensor([ALL, 40, 5, ALL, 100]), topP: f32Tensor([0.9, 1, 0.8, 0.95, 1], [B]),
    minP: f32Tensor([0, 0.1, 0, 0, 0.02], [B]), uniform: f32Tensor([0.13, 0.77, 0.5, 0.99, 0.01], [B]),
  };
  const first = await readInt(sample(logits, params));
  const second = await readInt(sample(logits, params));
  assert.deepEqual(Array.from(second), Array.from(first));
  assert.deepEqual(Array.from(await read(logits)), Array.from(data));
});

test("penalties: frequency and presence on output counts first, then repetition on every seen token", async () => {
  const logits = f32Tensor([2, -1, 1, 0.5, 3, 3, 3, 3], [2, 4]);
  applyPenalties(logits, {
    // row 0: id 0 prompt only, id 1 prompt only, id 2 three times in the output; row 1: id 3 once in the output
    tokenIds: i32Tensor([0, 1, 2, 3]), outputCounts: i32Tensor([0, 0, 3, 1]), rowStart: i32Tensor([0, 3, 4]),
    repetition: f32Tensor([2, 1], [2]), frequency: f32Tensor([0.5, 0], [2]), presence: f32Tensor([0.25, 1], [2]),
  });
  // id 0: 2 / 2; id 1: -1 * 2; id 2: 1 - (0.5 * 3 + 0.25) = -0.75, then * 2 (additive first, so it turned negative);
  // id 3 untouched in row 0; row 1, id 3: 3 - 1.
  assert.deepEqual(Array.from(await read(logits)), [1, -2, -1.5, 0.5, 3, 3, 3, 2]);
});

test("penalties on random rows match a float64 reference", async () => {
  const random = rng(102);
  const B = 4, V = 64;
  const data = randomArray(B * V, random, 5);
  const ids: number[] = [], counts: number[] = [], starts = [0];
  for (let b = 0; b < B; b++) {
    const seen = [...new Set(Array.from({ length: 10 + b * 7 }, () => Math.floor(random() * V)))];
    for (const id of seen) { ids.push(id); counts.push(random() < 0.5 ? 0 : 1 + Math.floor(random() * 4)); }
    starts.push(ids.length);
  }
  const rep = [1.05, 1.3, 1, 0.9], freq = [0.1, 0, 0.7, -0.2], pres = [0.3, 0.5, 0, 0.1];
  const expected = Array.from(data);
  for (let b = 0; b < B; b++) for (let e = starts[b]; e < starts[b + 1]; e++) {
    const i = b * V + ids[e];
    const v = expected[i] - freq[b] * counts[e] - (counts[e] > 0 ? pres[b] : 0);
    expected[i] = v > 0 ? v / rep[b] : v * rep[b];
  }
  const logits = f32Tensor(data, [B, V]);
  applyPenalties(logits, {
    tokenIds: i32Tensor(ids), outputCounts: i32Tensor(counts), rowStart: i32Tensor(starts),
    repetition: f32Tensor(rep, [B]), frequency: f32Tensor(freq, [B]), presence: f32Tensor(pres, [B]),
  });
  const got = await read(logits);
  expected.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `logit ${i}: ${got[i]} vs ${v}`));
});

test("sampling kernels refuse bad shapes and dtypes", () => {
  const logits = f32Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const p = (values: number[]) => f32Tensor(values, [values.length]);
  const params = { temperature: p([1, 1]), topK: i32Tensor([ALL, ALL]), topP: p([1, 1]), minP: p([0, 0]), uniform: p([0.5, 0.5]) };
  assertIrisError(() => sample(logits, { ...params, topK: p([1, 1]) }), "INVALID_ARGUMENT", /topK must be I32/);
  assertIrisError(() => sample(logits, { ...params, uniform: p([0.5]) }), "INVALID_ARGUMENT", /uniform must have shape \[2\]/);
  assertIrisError(() => sample(i32Tensor([1, 2], [1, 2]), params), "INVALID_ARGUMENT", /logits must be F32/);
  assertIrisError(() => argmax(logits.view([6])), "INVALID_ARGUMENT", /rank 2/);
  const penalties = {
    tokenIds: i32Tensor([0]), outputCounts: i32Tensor([1]), rowStart: i32Tensor([0, 1]),
    repetition: p([1, 1]), frequency: p([0, 0]), presence: p([0, 0]),
  };
  assertIrisError(() => applyPenalties(logits, penalties), "INVALID_ARGUMENT", /rowStart must have shape \[3\]/);
  assertIrisError(() => applyPenalties(logits, { ...penalties, rowStart: i32Tensor([0, 1, 1]), tokenIds: i32Tensor([3]) }),
    "INVALID_ARGUMENT", /token id 3 is out of range/);
});
