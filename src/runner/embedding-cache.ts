/**
 * Vision encoder outputs kept by the images' content keys (SGLang's multimodal embedding cache), so several
 * requests about the same pictures run the vision tower once. Least recently used entries go first once the byte
 * budget is exceeded; an entry larger than the whole budget is not kept.
 */
import type { Tensor } from "../runtime/tensor.js";

export class EmbeddingCache {
  private readonly entries = new Map<string, { tensor: Tensor; bytes: number }>();
  private used = 0;

  constructor(private readonly maxBytes: number, private readonly bytesPerElement: number) {}

  get(key: string): Tensor | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert to mark it most recently used (a Map iterates in insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.tensor;
  }

  put(key: string, tensor: Tensor): void {
    const bytes = tensor.numel * this.bytesPerElement;
    if (bytes > this.maxBytes || this.entries.has(key)) return;
    this.entries.set(key, { tensor, bytes });
    this.used += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.used <= this.maxBytes) break;
      // NOTE: requests still holding the tensor keep it alive; eviction only stops sharing it.
      this.entries.delete(oldest);
      this.used -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
