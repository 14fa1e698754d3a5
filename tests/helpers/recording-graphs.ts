/**
 * CUDA-graph semantics on any backend, for tests without a GPU: between `begin` and `end` kernels are recorded with
 * their arguments (the same tensors, so the same memory, and the same host scalars) instead of running, and
 * `replay` runs the recorded calls again. What a real capture bakes in is baked in here too, so code that is wrong
 * under a CUDA graph (an input not refilled in place, a launch bound that changes, an upload during the capture)
 * gives wrong results or throws on the cpu as well.
 */
import type { Backend, GraphCapture } from "../../src/runtime/backend.js";

/** Memory operations run during a capture (allocations are real in a CUDA capture too). */
const RUN_DURING_CAPTURE = new Set(["allocate", "release", "createArena", "memoryStats", "supportsDType"]);
/** What a CUDA capture cannot contain. */
const FORBIDDEN_DURING_CAPTURE = new Set(["upload", "download", "synchronize"]);

interface RecordedCall {
  readonly method: (...args: unknown[]) => unknown;
  readonly args: unknown[];
}

export interface GraphRecorder {
  /** Graphs captured and replays run so far. */
  readonly captures: number;
  readonly replays: number;
  /** Recorded kernel calls of each live graph. */
  readonly live: ReadonlyMap<number, number>;
}

interface Lease {
  alive: boolean;
}

/** The arena leases of the tensors among `args` (and one level inside plain objects: attention metadata). */
function leasesOf(args: readonly unknown[]): Lease[] {
  const leases: Lease[] = [];
  const visit = (value: unknown, depth: number) => {
    if (value === null || typeof value !== "object") return;
    const lease = (value as { storage?: { lease?: Lease | null } }).storage?.lease;
    if (lease) leases.push(lease);
    else if (depth === 0) for (const inner of Object.values(value)) visit(inner, 1);
  };
  for (const arg of args) visit(arg, 0);
  return leases;
}

/**
 * Runs a recorded call with its arena storages counted as alive. A graph's layers reuse the memory that earlier
 * layers gave back (the arena rewinds between layers), which the device replays at the same addresses; the cpu
 * backend's liveness checks would refuse those storages, so they are revived for the call.
 */
function withMemoryValid(args: readonly unknown[], call: () => unknown): void {
  const leases = leasesOf(args);
  const before = leases.map((l) => l.alive);
  for (const l of leases) l.alive = true;
  try {
    call();
  } finally {
    leases.forEach((l, i) => (l.alive = before[i]));
  }
}

export function recordingGraphs(inner: Backend): { backend: Backend; recorder: GraphRecorder } {
  const graphs = new Map<number, RecordedCall[]>();
  let recording: RecordedCall[] | null = null;
  let nextId = 1;
  const recorder = { captures: 0, replays: 0, get live() { return new Map([...graphs].map(([id, calls]) => [id, calls.length])); } };
  const capture: GraphCapture = {
    begin() {
      if (recording !== null) throw new Error("a capture is already running");
      recording = [];
    },
    end() {
      if (recording === null) throw new Error("no capture is running");
      graphs.set(nextId, recording);
      recording = null;
      recorder.captures++;
      return nextId++;
    },
    replay(graph) {
      const calls = graphs.get(graph);
      if (calls === undefined) throw new Error(`no graph ${graph}`);
      for (const call of calls) withMemoryValid(call.args, () => call.method.apply(inner, call.args));
      recorder.replays++;
    },
    destroy(graph) {
      graphs.delete(graph);
    },
  };
  const backend = new Proxy(inner, {
    get(target, prop) {
      if (prop === "graphs") return capture;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (recording !== null && FORBIDDEN_DURING_CAPTURE.has(prop)) throw new Error(`${prop} while a graph is captured`);
        if (recording !== null && !RUN_DURING_CAPTURE.has(prop)) {
          recording.push({ method, args });
          return undefined;
        }
        return method.apply(target, args);
      };
    },
  });
  return { backend, recorder };
}
