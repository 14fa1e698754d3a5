import { invariant } from "../core/errors.js";
import { MinHeap } from "./min-heap.js";
import type { PageAllocator } from "./page-allocator.js";
import type { InsertResult, PrefixCache, PrefixCacheSizeInfo, PrefixHandle, PrefixMatch } from "./prefix-cache.js";
import { RadixNode, edgeKey } from "./radix-node.js";

class RadixHandle implements PrefixHandle {
  constructor(
    readonly owner: RadixCache,
    readonly node: RadixNode,
    readonly cachedTokens: number,
  ) {}
}

/**
 * A page-granular radix tree over token keys (SGLang's RadixAttention). Each node holds a run of whole pages;
 * eviction removes least-recently-used unlocked leaves and frees their pages to the allocator. Recency is a
 * logical clock, so runs are reproducible. See `PrefixCache` for the ownership and locking contract.
 */
export class RadixCache implements PrefixCache {
  readonly pageSize: number;
  readonly sharesPrefixes = true;
  private readonly root: RadixNode;
  private clock = 0;
  private evictablePages = 0;
  private protectedPages = 0;

  constructor(private readonly allocator: PageAllocator) {
    this.pageSize = allocator.pageSize;
    this.root = new RadixNode([], [], null, 0);
  }

  matchPrefix(key: readonly number[]): PrefixMatch {
    const { node, pages } = this.walk(key);
    const cachedTokens = pages.length * this.pageSize;
    return { handle: new RadixHandle(this, node, cachedTokens), cachedTokens, pages };
  }

  lock(handle: PrefixHandle): void {
    for (let node = this.nodeOf(handle); node !== this.root; node = node.parent!) {
      if (node.lockCount === 0) this.moveToProtected(node.numPages);
      node.lockCount++;
    }
  }

  unlock(handle: PrefixHandle): void {
    for (let node = this.nodeOf(handle); node !== this.root; node = node.parent!) {
      invariant(node.lockCount > 0, "prefix cache handle unlocked more often than locked");
      node.lockCount--;
      if (node.lockCount === 0) this.moveToProtected(-node.numPages);
    }
  }

  insert(key: readonly number[], pages: readonly number[]): InsertResult {
    const wholePages = Math.floor(key.length / this.pageSize);
    invariant(pages.length >= wholePages, `insert of ${wholePages} pages of key got only ${pages.length} pages`);
    const { node, pages: cached } = this.walk(key.slice(0, wholePages * this.pageSize));
    const alreadyCachedPages = cached.length;
    if (alreadyCachedPages < wholePages) {
      const start = alreadyCachedPages * this.pageSize;
      const leaf = new RadixNode(
        key.slice(start, wholePages * this.pageSize),
        pages.slice(alreadyCachedPages, wholePages),
        node,
        this.clock,
      );
      node.children.set(edgeKey(leaf.tokens, 0, this.pageSize), leaf);
      this.evictablePages += leaf.numPages;
    }
    return { alreadyCachedPages, adoptedPages: wholePages - alreadyCachedPages };
  }

  evict(numPages: number): number {
    if (numPages <= 0) return 0;
    const heap = new MinHeap<RadixNode>((a, b) => a.lastAccess < b.lastAccess);
    for (const leaf of this.evictableLeaves()) heap.push(leaf);
    let freed = 0;
    while (freed < numPages) {
      const leaf = heap.pop();
      if (leaf === undefined) break;
      const parent = leaf.parent!;
      parent.children.delete(edgeKey(leaf.tokens, 0, this.pageSize));
      leaf.detached = true;
      this.allocator.free(leaf.pages);
      this.evictablePages -= leaf.numPages;
      freed += leaf.numPages;
      // NOTE: a parent is never older than its children, so it can wait to join the heap until it is a leaf.
      if (parent !== this.root && parent.isLeaf() && parent.lockCount === 0) heap.push(parent);
    }
    return freed;
  }

  sizeInfo(): PrefixCacheSizeInfo {
    const { evictablePages, protectedPages } = this;
    return { evictablePages, protectedPages, totalPages: evictablePages + protectedPages };
  }

  checkIntegrity(): void {
    const seen = new Set<number>();
    let evictable = 0;
    let locked = 0;
    const stack: RadixNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      let childLocks = 0;
      for (const [edge, child] of node.children) {
        invariant(child.parent === node, "radix node's parent link disagrees with its parent's children");
        invariant(!child.detached, "evicted radix node still in the tree");
        invariant(child.numPages > 0, "empty radix node below the root");
        invariant(child.tokens.length === child.numPages * this.pageSize, "radix node key is not whole pages");
        invariant(edgeKey(child.tokens, 0, this.pageSize) === edge, "radix edge key differs from the child's key");
        invariant(child.lastAccess <= node.lastAccess || node === this.root, "radix node more recent than parent");
        for (const page of child.pages) {
          invariant(!seen.has(page), `page ${page} appears twice in the radix cache`);
          invariant(this.allocator.isAllocated(page), `cached page ${page} is free in the allocator`);
          seen.add(page);
        }
        if (child.lockCount === 0) evictable += child.numPages;
        else locked += child.numPages;
        childLocks += child.lockCount;
        stack.push(child);
      }
      const ownLocks = node === this.root ? childLocks : node.lockCount;
      invariant(ownLocks >= childLocks, "radix node has fewer locks than its children together");
    }
    invariant(evictable === this.evictablePages, `evictable pages ${this.evictablePages}, tree has ${evictable}`);
    invariant(locked === this.protectedPages, `protected pages ${this.protectedPages}, tree has ${locked}`);
  }

  /**
   * Follows `key` down the tree in whole pages, splitting the last node when the key ends or diverges inside it,
   * and marks every node on the way as used now. Returns the deepest matched node and the matched pages.
   */
  private walk(key: readonly number[]): { node: RadixNode; pages: number[] } {
    const now = ++this.clock;
    const pages: number[] = [];
    let node = this.root;
    let offset = 0;
    while (key.length - offset >= this.pageSize) {
      let child = node.children.get(edgeKey(key, offset, this.pageSize));
      if (child === undefined) break;
      const matched = child.matchingPages(key, offset, this.pageSize);
      const partial = matched < child.numPages;
      if (partial) child = child.splitAt(matched, this.pageSize);
      child.lastAccess = now;
      for (const page of child.pages) pages.push(page);
      offset += matched * this.pageSize;
      node = child;
      if (partial) break;
    }
    return { node, pages };
  }

  private nodeOf(handle: PrefixHandle): RadixNode {
    invariant(handle instanceof RadixHandle && handle.owner === this, "handle does not come from this radix cache");
    invariant(!handle.node.detached, "handle refers to an evicted prefix (lock it before evicting)");
    return handle.node;
  }

  private moveToProtected(numPages: number): void {
    this.evictablePages -= numPages;
    this.protectedPages += numPages;
  }

  private *evictableLeaves(): Generator<RadixNode> {
    const stack: RadixNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node !== this.root && node.isLeaf() && node.lockCount === 0) yield node;
      for (const child of node.children.values()) stack.push(child);
    }
  }
}
