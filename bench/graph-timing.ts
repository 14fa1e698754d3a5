/**
 * Device time of a body of kernels as a replayed graph runs them (the decode-layers benchmarks): the body runs once
 * eagerly (workspaces a kernel allocates once exist before the capture), is captured once, replayed once to warm up,
 * then replayed between two timing marks. A backend without graphs (the cpu) runs the body itself between the marks,
 * so the same benchmark checks its shapes and calls there.
 */
import type { Backend } from "../src/runtime/backend.js";

/** Device µs of one run of `body` divided by `calls` (the kernel calls it makes), over `replays` replays. */
export async function graphMicroseconds(backend: Backend, body: () => void, calls: number, replays = 20): Promise<number> {
  const marks = backend.timingMarks;
  if (marks === undefined) throw new Error(`the ${backend.kind} backend has no timing marks`);
  body();
  const graphs = backend.graphs;
  let graph: number | null = null;
  if (graphs !== undefined) {
    graphs.begin();
    try {
      body();
    } finally {
      graph = graphs.end();
    }
    graphs.replay(graph);
  }
  const start = marks.record();
  for (let r = 0; r < replays; r++) {
    if (graph !== null) graphs!.replay(graph);
    else body();
  }
  const end = marks.record();
  await backend.synchronize();
  const ms = marks.elapsedMs(start, end);
  marks.release(start);
  marks.release(end);
  if (graph !== null) graphs!.destroy(graph);
  return (ms * 1000) / replays / calls;
}
