/**
 * Writes a shapes data set (format: dataset-format.ts for the first generator, drawing-dataset.ts for the second)
 * with a pool of worker threads, each rendering chunks of consecutive pictures. Chunks are written in index order
 * as soon as every chunk before them is done (pictures of the second generator vary in size, so a picture's offset
 * is known only then), so memory stays at a few chunks whatever the count.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { GENERATOR_VERSION, IMAGES_FILE, META_FILE, SAMPLES_FILE, type DatasetMeta } from "./dataset-format.js";
import { renderRequest, type ChunkRequest, type ChunkResult } from "./dataset-worker.js";
import { CANVASES_FILE, DRAWINGS_GENERATOR_VERSION } from "./drawing-dataset.js";
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
  /** Which generator draws the pictures: 1 (default, 112x112) or 2 (drawings of any size, drawing-dataset.ts). */
  readonly generator?: 1 | 2;
  /** Generator 2: also keep the canvases of the first `canvases` pictures (canvases.u8). */
  readonly canvases?: number;
}

const DEFAULT_CHUNK_SIZE = 256;

export async function writeDataset(options: WriteDatasetOptions): Promise<DatasetMeta> {
  const { count, seedStart, outDir } = options;
  const split = splitOfRange(seedStart, count);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const generator = options.generator ?? 1;
  const canvases = generator === 2 ? Math.min(count, options.canvases ?? 0) : 0;
  const chunks: ChunkRequest[] = [];
  for (let first = 0; first < count; first += chunkSize) {
    chunks.push({ generator, seedStart, firstIndex: first, count: Math.min(chunkSize, count - first), canvases });
  }
  const workers = Math.min(options.workers ?? availableParallelism(), chunks.length);
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);

  mkdirSync(outDir, { recursive: true });
  // A data set without meta.json is incomplete: remove any old one before touching the other files.
  rmSync(join(outDir, META_FILE), { force: true });
  rmSync(join(outDir, CANVASES_FILE), { force: true });
  const sink = new OrderedSink(outDir, canvases > 0, options.onProgress);
  try {
    if (workers === 0) {
      for (const chunk of chunks) sink.accept(await renderRequest(chunk));
    } else {
      await renderWithWorkers(chunks, workers, sink);
    }
  } finally {
    sink.close();
  }
  if (sink.written !== count) throw new Error(`internal: wrote ${sink.written} of ${count} pictures`);

  const meta: DatasetMeta = generator === 1 ? {
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
  } : {
    generatorVersion: DRAWINGS_GENERATOR_VERSION,
    count,
    seedStart,
    split,
    // Sizes vary: each record gives its picture's width and height.
    width: 0,
    height: 0,
    channels: CHANNELS,
    layout: "HWC RGB uint8, row-major",
    imagesFile: IMAGES_FILE,
    samplesFile: SAMPLES_FILE,
    ...(canvases > 0 ? { canvasesFile: CANVASES_FILE, canvases } : {}),
  };
  writeFileSync(join(outDir, META_FILE), JSON.stringify(meta, null, 2) + "\n");
  return meta;
}

/** Writes chunks in index order: pictures, canvases and JSON lines. */
class OrderedSink {
  private readonly imagesFd: number;
  private readonly samplesFd: number;
  private readonly canvasesFd: number | null;
  private readonly pending = new Map<number, ChunkResult>();
  private nextIndex = 0;
  written = 0;

  constructor(outDir: string, withCanvases: boolean, private readonly onProgress?: (written: number) => void) {
    this.imagesFd = openSync(join(outDir, IMAGES_FILE), "w");
    this.samplesFd = openSync(join(outDir, SAMPLES_FILE), "w");
    this.canvasesFd = withCanvases ? openSync(join(outDir, CANVASES_FILE), "w") : null;
  }

  accept(chunk: ChunkResult): void {
    this.pending.set(chunk.firstIndex, chunk);
    for (let next = this.pending.get(this.nextIndex); next !== undefined; next = this.pending.get(this.nextIndex)) {
      this.pending.delete(this.nextIndex);
      writeAll(this.imagesFd, next.images);
      if (this.canvasesFd !== null) writeAll(this.canvasesFd, next.canvases);
      writeSync(this.samplesFd, next.jsonl);
      this.nextIndex += next.count;
    }
    this.written += chunk.count;
    this.onProgress?.(this.written);
  }

  close(): void {
    closeSync(this.imagesFd);
    closeSync(this.samplesFd);
    if (this.canvasesFd !== null) closeSync(this.canvasesFd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done);
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
          sink.accept(result);
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
