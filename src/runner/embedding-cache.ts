/**
 * Vision encoder outputs kept by the images' content keys (SGLang's multimodal embedding cache), so several
 * requests about the same pictures run the vision tower once. Least recently used entries go first once the byte
 * budget is exceeded; an entry larger than the whole budget is not kept. An entry leaving hands its tensor to
 * `onEvict`, which frees it once no request holds it.
 */
import type { Tensor } from "../runtime/tensor.js";

export class EmbeddingCache {
  private readonly entries = new Map<string, { tensor: Tensor; bytes: number }>();
  private used = 0;

  constructor(private readonly maxBytes: number, private readonly bytesPerElement: number,
    private readonly onEvict: (tensor: Tensor) => void) {}

  get(key: string): Tensor | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert to mark it most recently used (a Map iterates in insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.tensor;
  }

  /** Keeps `tensor` under `key`; false when it is not kept (too large, or the key is taken). */
  put(key: string, tensor: Tensor): boolean {
    const bytes = tensor.numel * this.bytesPerElement;
    if (bytes > this.maxBytes || this.entries.has(key)) return false;
    this.entries.set(key, { tensor, bytes });
    this.used += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.evict(oldest, entry);
    }
    return true;
  }

  /** Drops every entry. */
  clear(): void {
    for (const [key, entry] of this.entries) this.evict(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(key: string, entry: { tensor: Tensor; bytes: number }): void {
    this.entries.delete(key);
    this.used -= entry.bytes;
    this.onEvict(entry.tensor);
  }
}
