/**
 * The vision encoder's outputs for the runner's requests: computed on first need inside the step arena (the tower's
 * intermediates die with it), for all the requests of a step together (vision-passes.ts), kept in memory of their
 * own, shared through the embedding cache, and freed once neither the cache nor any request holds them.
 */
import { DTYPE_BYTES } from "../core/dtype.js";
import { IrisError } from "../core/errors.js";
import type { MultimodalPayload } from "../core/multimodal-payload.js";
import { copy } from "../kernels/copy.js";
import type { VisionLanguageModel } from "../models/model.js";
import type { Arena } from "../runtime/backend.js";
import { empty, fromHost } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";
import { visionPixels } from "./device-pixels.js";
import { EmbeddingCache } from "./embedding-cache.js";
import { concatPayloads, planPasses, visionShape, type PixelPayload } from "./vision-passes.js";

/** One request's images as `acquireAll` takes them. */
export interface ImageRequest {
  readonly mm: MultimodalPayload;
  /** The content key of its images (the embedding cache's key), when it has one. */
  readonly key: string | undefined;
  /** Its image tokens: the rows its embeddings must have. */
  readonly expectedRows: number;
}

export class ImageEmbeddings {
  private readonly cache: EmbeddingCache;
  /** Holders (requests and the cache) of each tensor handed out. */
  private readonly holders = new Map<Tensor, number>();

  /**
   * @param visionTokenBudget the most vision tokens (patches) one pass of the tower takes: the arena grows to what
   * the largest pass needs, so this bounds the memory a burst of pictures takes
   */
  constructor(private readonly model: VisionLanguageModel, private readonly device: Device, private readonly arena: Arena,
    cacheBytes: number, private readonly visionTokenBudget: number) {
    this.cache = new EmbeddingCache(cacheBytes, DTYPE_BYTES[device.floatDType], (t) => this.release(t));
  }

  /**
   * The embeddings of `mm` in memory of their own: [image tokens, hidden]. The caller owns the result (dispose it),
   * unless it takes it through `acquire`.
   */
  encode(mm: MultimodalPayload): Tensor {
    if (mm.kind === "embeddings") return fromHost(this.device, mm.embeddings); // F32 rows rounded on the device (fromHost)
    const rows = this.device.inArena(this.arena, () => {
      const encoded = this.model.encodeImages({ pixelValues: visionPixels(this.device, this.model.config, mm), imageGrids: mm.imageGrids });
      // Out of the arena: these outlive the step.
      const kept = this.device.outsideArena(() => empty(this.device, encoded.shape, encoded.dtype));
      copy(kept, encoded);
      return kept;
    });
    this.arena.reset();
    return rows;
  }

  /**
   * The embeddings of several requests' images, each from the cache by its `key` or encoded, and checked against its
   * `expectedRows` image tokens: a tensor (held by that request until `release`) or the error of that request
   * alone. The pictures to encode go through the tower together, in passes of at most `visionTokenBudget` vision
   * tokens; requests with the same key share one encoding. A pass that fails is retried one payload at a time, so
   * a bad payload fails only its own request.
   */
  acquireAll(items: readonly ImageRequest[]): (Tensor | IrisError)[] {
    const fresh = new Map<string | number, { mm: MultimodalPayload; tensor: Tensor | IrisError | null }>();
    const sources = items.map((item, i) => {
      const cached = item.key === undefined ? undefined : this.cache.get(item.key);
      if (cached) return cached;
      const id = item.key ?? i;
      if (!fresh.has(id)) fresh.set(id, { mm: item.mm, tensor: null });
      return id;
    });
    this.encodeFresh([...fresh.values()]);
    const held = new Set<Tensor>();
    const results = items.map((item, i) => {
      const source = sources[i];
      const entry = typeof source === "object" ? null : fresh.get(source)!;
      const tensor = entry === null ? source as Tensor : entry.tensor!;
      if (tensor instanceof IrisError) return tensor;
      if (tensor.shape[0] !== item.expectedRows) {
        return new IrisError("IMAGE_TOKEN_MISMATCH", `the images give ${tensor.shape[0]} embedding rows for ${item.expectedRows} image tokens`);
      }
      this.hold(tensor);
      held.add(tensor);
      if (entry !== null && item.key !== undefined && this.cache.put(item.key, tensor)) this.hold(tensor);
      return tensor;
    });
    // Encoded for requests that all refused them: nobody holds them.
    for (const { tensor } of fresh.values()) if (tensor !== null && !(tensor instanceof IrisError) && !held.has(tensor)) tensor.dispose();
    return results;
  }

  /** Fills each entry's tensor (or error): pixel payloads in passes under the budget, embeddings uploaded as they are. */
  private encodeFresh(entries: { mm: MultimodalPayload; tensor: Tensor | IrisError | null }[]): void {
    const batched: { entry: (typeof entries)[number]; mm: PixelPayload; tokens: number; rows: number }[] = [];
    for (const entry of entries) {
      const shape = entry.mm.kind === "embeddings" ? null : visionShape(this.model.config, entry.mm);
      if (shape === null || entry.mm.kind === "embeddings") entry.tensor = this.tryEncode(entry.mm);
      else batched.push({ entry, mm: entry.mm, ...shape });
    }
    // Processor pixel values and 8-bit pictures take passes of their own.
    for (const kind of ["pixels", "rgb8"] as const) {
      const group = batched.filter((b) => b.mm.kind === kind);
      for (const pass of planPasses(group.map((b) => b.tokens), this.visionTokenBudget)) {
        const members = pass.map((i) => group[i]);
        const rows = members.map((m) => m.rows);
        const parts = members.length === 1 ? null : this.tryEncodeSplit(concatPayloads(members.map((m) => m.mm)), rows);
        members.forEach((m, k) => (m.entry.tensor = parts === null ? this.tryEncode(m.mm) : parts[k]));
      }
    }
  }

  /** One payload through the tower, its error caught. */
  private tryEncode(mm: MultimodalPayload): Tensor | IrisError {
    try {
      return this.encode(mm);
    } catch (err) {
      return err instanceof IrisError ? err : new IrisError("INTERNAL", `vision encoder failed: ${(err as Error).message}`);
    }
  }

  /** Several images in one pass, split into tensors of `rows` each; null when the pass fails (nothing is kept). */
  private tryEncodeSplit(mm: PixelPayload, rows: readonly number[]): Tensor[] | null {
    const kept: Tensor[] = [];
    try {
      this.device.inArena(this.arena, () => {
        const encoded = this.model.encodeImages({ pixelValues: visionPixels(this.device, this.model.config, mm), imageGrids: mm.imageGrids });
        if (encoded.shape[0] !== rows.reduce((a, b) => a + b, 0)) throw new IrisError("INTERNAL", "internal error: a vision pass gave an unexpected row count");
        let at = 0;
        for (const n of rows) {
          // Out of the arena: these outlive the step.
          const own = this.device.outsideArena(() => empty(this.device, [n, ...encoded.shape.slice(1)], encoded.dtype));
          kept.push(own);
          copy(own, encoded.narrow(at, n));
          at += n;
        }
      });
      return kept;
    } catch {
      for (const t of kept) t.dispose();
      return null;
    } finally {
      this.arena.reset();
    }
  }

  /** One holder lets go; the memory is freed with the last. */
  release(tensor: Tensor): void {
    const left = (this.holders.get(tensor) ?? 1) - 1;
    if (left > 0) {
      this.holders.set(tensor, left);
      return;
    }
    this.holders.delete(tensor);
    tensor.dispose();
  }

  /** Empties the cache (requests keep what they hold). */
  flush(): void {
    this.cache.clear();
  }

  get cachedEntries(): number {
    return this.cache.size;
  }

  private hold(tensor: Tensor): void {
    this.holders.set(tensor, (this.holders.get(tensor) ?? 0) + 1);
  }
}

