/**
 * Worker thread of the dataset writer: renders the chunks it is sent and hands the bytes back (transferred,
 * not copied). Runs only under dataset-writer.ts.
 */
import { parentPort } from "node:worker_threads";
import { renderChunk } from "./dataset-format.js";

export interface ChunkRequest {
  readonly seedStart: number;
  readonly firstIndex: number;
  readonly count: number;
}

export interface ChunkResult {
  readonly firstIndex: number;
  readonly count: number;
  readonly images: Uint8Array;
  readonly jsonl: string;
}

const port = parentPort;
if (port === null) throw new Error("dataset-worker runs only as a worker thread of the dataset writer");

// null asks the worker to stop once it has answered everything before it.
port.on("message", (request: ChunkRequest | null) => {
  if (request === null) {
    port.close();
    return;
  }
  const { images, jsonl } = renderChunk(request.seedStart, request.firstIndex, request.count);
  const result: ChunkResult = { firstIndex: request.firstIndex, count: request.count, images, jsonl };
  port.postMessage(result, [images.buffer as ArrayBuffer]);
});
