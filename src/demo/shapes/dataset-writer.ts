/**
 * Writes a shapes data set (format: dataset-format.ts) with a pool of worker threads, each rendering chunks of
 * consecutive pictures. Pictures go straight to their place in `images.u8`; JSON lines are written in order as
 * soon as every chunk before them is done, so memory stays at a few chunks whatever the count.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import {
  BYTES_PER_IMAGE,
  GENERATOR_VERSION,
  IMAGES_FILE,
  META_FILE,
  SAMPLES_FILE,
  renderChunk,
  type DatasetMeta,
  type RenderedChunk,
} from "./dataset-format.js";
import type { ChunkRequest, ChunkResult } from "./dataset-worker.js";
import { CANVAS_SIZE, CHANNELS } from "./scene-types.js";
import { splitOfRange } from "./seeds.js";

export interface WriteDatasetOptions {
  readonly count: number;
  readonly seedStart: number;
  readonly outDir: string;
  /** Worker threads; 0 renders on the calling thread. Default: one per core. */
  readonly workers?: number;
  /** Pictures per chunk handed to a worker. */
  readonly chunkSize?: number;
  /** Called after each chunk with the number of pictures written so far. */
  readonly onProgress?: (written: number) => void;
}

const DEFAULT_CHUNK_SIZE = 256;

export async function writeDataset(options: WriteDatasetOptions): Promise<DatasetMeta> {
  const { count, seedStart, outDir } = options;
  const split = splitOfRange(seedStart, count);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const chunks: ChunkRequest[] = [];
  for (let first = 0; first < count; first += chunkSize) {
    chunks.push({ seedStart, firstIndex: first, count: Math.min(chunkSize, count - first) });
  }
  const workers = Math.min(options.workers ?? availableParallelism(), chunks.length);
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);

  mkdirSync(outDir, { recursive: true });
  // A data set without meta.json is incomplete: remove any old one before touching the other files.
  rmSync(join(outDir, META_FILE), { force: true });
  const sink = new OrderedSink(join(outDir, IMAGES_FILE), join(outDir, SAMPLES_FILE), options.onProgress);
  try {
    if (workers === 0) {
      for (const chunk of chunks) sink.accept(chunk.firstIndex, renderChunk(chunk.seedStart, chunk.firstIndex, chunk.count));
    } else {
      await renderWithWorkers(chunks, workers, sink);
    }
  } finally {
    sink.close();
  }
  if (sink.written !== count) throw new Error(`internal: wrote ${sink.written} of ${count} pictures`);

  const meta: DatasetMeta = {
    generatorVersion: GENERATOR_VERSION,
    count,
    seedStart,
    split,
    width: CANVAS_SIZE,
    height: CANVAS_SIZE,
    channels: CHANNELS,
    layout: "HWC RGB uint8, row-major",
    imagesFile: IMAGES_FILE,
    samplesFile: SAMPLES_FILE,
  };
  writeFileSync(join(outDir, META_FILE), JSON.stringify(meta, null, 2) + "\n");
  return meta;
}

/** Writes pictures at their offsets at once, and JSON lines in index order. */
class OrderedSink {
  private readonly imagesFd: number;
  private readonly samplesFd: number;
  private readonly pendingLines = new Map<number, { count: number; jsonl: string }>();
  private nextLineIndex = 0;
  written = 0;

  constructor(imagesPath: string, samplesPath: string, private readonly onProgress?: (written: number) => void) {
    this.imagesFd = openSync(imagesPath, "w");
    this.samplesFd = openSync(samplesPath, "w");
  }

  accept(firstIndex: number, chunk: RenderedChunk): void {
    const { images } = chunk;
    let done = 0;
    while (done < images.byteLength) {
      done += writeSync(this.imagesFd, images, done, images.byteLength - done, firstIndex * BYTES_PER_IMAGE + done);
    }
    const count = images.byteLength / BYTES_PER_IMAGE;
    this.pendingLines.set(firstIndex, { count, jsonl: chunk.jsonl });
    for (let next = this.pendingLines.get(this.nextLineIndex); next !== undefined; next = this.pendingLines.get(this.nextLineIndex)) {
      this.pendingLines.delete(this.nextLineIndex);
      writeSync(this.samplesFd, next.jsonl);
      this.nextLineIndex += next.count;
    }
    this.written += count;
    this.onProgress?.(this.written);
  }

  close(): void {
    closeSync(this.imagesFd);
    closeSync(this.samplesFd);
  }
}

/**
 * Starts a worker on the worker script beside this module: dataset-worker.js in the build. When this module runs
 * from source (tests under tsx), the script is dataset-worker.ts, and node 20 does not pass tsx's loader on to
 * worker threads, so the worker registers tsx itself before importing it (tsx exists only in development).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./dataset-worker.js", import.meta.url));
  const script = JSON.stringify(new URL("./dataset-worker.ts", import.meta.url).href);
  return new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${script}); });`, { eval: true });
}

function renderWithWorkers(chunks: readonly ChunkRequest[], workerCount: number, sink: OrderedSink): Promise<void> {
  return new Promise((resolve, reject) => {
    const pool: Worker[] = [];
    let nextChunk = 0;
    let finished = 0;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      for (const w of pool) void w.terminate();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const feed = (worker: Worker): void => {
      const request = nextChunk < chunks.length ? chunks[nextChunk++] : null;
      worker.postMessage(request);
    };
    for (let i = 0; i < workerCount; i++) {
      const worker = startWorker();
      pool.push(worker);
      worker.on("message", (result: ChunkResult) => {
        if (failed) return;
        try {
          sink.accept(result.firstIndex, result);
        } catch (err) {
          fail(err);
          return;
        }
        finished++;
        if (finished === chunks.length) resolve();
        feed(worker);
      });
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (code !== 0 && finished < chunks.length) fail(new Error(`a dataset worker exited with code ${code}`));
      });
      feed(worker);
    }
  });
}
