/**
 * Top-1 sigmoid routing of Llama 4's experts on the cpu, shared by the float and FP8 expert kernels: each token's
 * expert (the first maximum, as torch.topk), its sigmoid score, and the tokens grouped by expert so each expert's
 * weights are read once per call.
 */
interface Top1Routing {
  /** Per token: the sigmoid of its chosen expert's logit. */
  readonly score: Float64Array;
  /** Per expert: the tokens routed to it, in token order. */
  readonly tokensOf: readonly Int32Array[];
}

/**
 * Routes the tokens, then for each expert with tokens hands `expert` their scaled inputs [n, H] (in `rows(n * H)`)
 * and writes the rows it returns [n, H] back to those tokens' rows of `out`.
 */
export function eachExpert(out: Float32Array, x: Float32Array, logits: Float32Array, T: number, H: number, E: number,
  rows: (length: number) => Float32Array, expert: (e: number, inputs: Float32Array, n: number) => Float32Array): void {
  const { score, tokensOf } = routeTop1(logits, T, E);
  tokensOf.forEach((tokens, e) => {
    const n = tokens.length;
    if (n === 0) return;
    const inputs = rows(n * H);
    gatherScaled(inputs, x, tokens, score, H);
    const y = expert(e, inputs, n);
    for (let r = 0; r < n; r++) out.set(y.subarray(r * H, (r + 1) * H), tokens[r] * H);
  });
}

function routeTop1(logits: Float32Array, T: number, E: number): Top1Routing {
  const expertOf = new Int32Array(T), score = new Float64Array(T), count = new Int32Array(E);
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let e = 1; e < E; e++) if (logits[t * E + e] > logits[t * E + best]) best = e; // first max wins ties, as torch.topk
    expertOf[t] = best;
    score[t] = 1 / (1 + Math.exp(-logits[t * E + best]));
    count[best]++;
  }
  const tokensOf = Array.from({ length: E }, (_, e) => new Int32Array(count[e]));
  const filled = new Int32Array(E);
  for (let t = 0; t < T; t++) tokensOf[expertOf[t]][filled[expertOf[t]]++] = t;
  return { score, tokensOf };
}

/** rows [n, H] = x[tokens[r]] * score[tokens[r]]: the score scales the expert's input. */
function gatherScaled(rows: Float32Array, x: Float32Array, tokens: Int32Array, score: Float64Array, H: number): void {
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r], s = score[t];
    for (let j = 0; j < H; j++) rows[r * H + j] = x[t * H + j] * s;
  }
}

/** act [n, I] = silu(gu[:, :I]) * gu[:, I:] for gu [n, 2I]. */
export function siluMulRows(act: Float32Array, gu: Float32Array, n: number, I: number): void {
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < I; j++) {
      const g = gu[r * 2 * I + j];
      act[r * I + j] = (g / (1 + Math.exp(-g))) * gu[r * 2 * I + I + j];
    }
  }
}
