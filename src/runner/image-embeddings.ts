/**
 * The vision encoder's outputs for the runner's requests: computed on first need inside the step arena (the tower's
 * intermediates die with it), kept in memory of their own, shared through the embedding cache, and freed once
 * neither the cache nor any request holds them.
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
import { EmbeddingCache } from "./embedding-cache.js";

export class ImageEmbeddings {
  private readonly cache: EmbeddingCache;
  /** Holders (requests and the cache) of each tensor handed out. */
  private readonly holders = new Map<Tensor, number>();

  constructor(private readonly model: VisionLanguageModel, private readonly device: Device, private readonly arena: Arena,
    cacheBytes: number) {
    this.cache = new EmbeddingCache(cacheBytes, DTYPE_BYTES[device.floatDType], (t) => this.release(t));
  }

  /**
   * The embeddings of `mm` in memory of their own: [image tokens, hidden]. The caller owns the result (dispose it),
   * unless it takes it through `acquire`.
   */
  encode(mm: MultimodalPayload): Tensor {
    if (mm.kind === "embeddings") return fromHost(this.device, mm.embeddings);
    const rows = this.device.inArena(this.arena, () => {
      const encoded = this.model.encodeImages({ pixelValues: fromHost(this.device, mm.pixelValues), imageGrids: mm.imageGrids });
      // Out of the arena: these outlive the step.
      const kept = this.device.outsideArena(() => empty(this.device, encoded.shape, encoded.dtype));
      copy(kept, encoded);
      return kept;
    });
    this.arena.reset();
    return rows;
  }

  /**
   * The embeddings of a request's images (from the cache by `key`, else encoded), checked against its `expectedRows`
   * image tokens; the request holds them until `release`.
   */
  acquire(mm: MultimodalPayload, key: string | undefined, expectedRows: number): Tensor {
    const cached = key === undefined ? undefined : this.cache.get(key);
    const tensor = cached ?? this.encode(mm);
    if (tensor.shape[0] !== expectedRows) {
      if (!cached) tensor.dispose();
      throw new IrisError("IMAGE_TOKEN_MISMATCH", `the images give ${tensor.shape[0]} embedding rows for ${expectedRows} image tokens`);
    }
    this.hold(tensor);
    if (!cached && key !== undefined && this.cache.put(key, tensor)) this.hold(tensor);
    return tensor;
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
