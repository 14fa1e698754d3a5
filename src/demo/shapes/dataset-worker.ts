/**
 * Worker thread of the dataset writer: renders the chunks it is sent and hands the bytes back (transferred,
 * not copied). Runs only under dataset-writer.ts.
 */
import { parentPort } from "node:worker_threads";
import sharp from "sharp";
import { renderChunk } from "./dataset-format.js";
import { renderDrawingChunk } from "./drawing-dataset.js";

export interface ChunkRequest {
  /** 1: the first generator (112x112 pictures); 2: the second (drawing-dataset.ts). */
  readonly generator: 1 | 2;
  readonly seedStart: number;
  readonly firstIndex: number;
  readonly count: number;
  /** Generator 2: keep the canvases of pictures below this index. */
  readonly canvases: number;
}

export interface ChunkResult {
  readonly firstIndex: number;
  readonly count: number;
  readonly images: Uint8Array;
  readonly canvases: Uint8Array;
  readonly jsonl: string;
}

/** One chunk on the calling thread (the writer's inline mode uses it too). */
export async function renderRequest(request: ChunkRequest): Promise<ChunkResult> {
  const { seedStart, firstIndex, count } = request;
  if (request.generator === 1) return { firstIndex, count, ...renderChunk(seedStart, firstIndex, count), canvases: new Uint8Array(0) };
  return { firstIndex, count, ...(await renderDrawingChunk(seedStart, firstIndex, count, request.canvases)) };
}

const port = parentPort;
if (port !== null) {
  // One thread per core already: libvips's own threads would only compete with the other workers.
  sharp.concurrency(1);
  // null asks the worker to stop once it has answered everything before it. Requests come one at a time (the
  // writer sends the next only after this one's answer), so the async rendering never interleaves.
  port.on("message", (request: ChunkRequest | null) => {
    if (request === null) {
      port.close();
      return;
    }
    renderRequest(request).then(
      (result) => port.postMessage(result, [result.images.buffer as ArrayBuffer, result.canvases.buffer as ArrayBuffer]),
      (err: unknown) => {
        throw err;
      },
    );
  });
}
