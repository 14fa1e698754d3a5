import { checkArgument, invariant } from "../core/errors.js";
import type { PageAllocator } from "../cache/page-allocator.js";
import type { PrefixCache } from "../cache/prefix-cache.js";
import type { RequestState } from "./request-state.js";

/**
 * Moves KV pages between the allocator, the prefix cache and requests, keeping the ownership rules of
 * `PrefixCache`: a request's first `sharedPages` pages are the cache's (locked by its handle), the rest are its
 * own. Every page a request holds goes back through `release`, so nothing leaks.
 */
export class CacheManager {
  readonly pageSize: number;

  constructor(
    readonly allocator: PageAllocator,
    readonly prefixCache: PrefixCache,
  ) {
    checkArgument(prefixCache.pageSize === allocator.pageSize, "the prefix cache and the allocator differ in page size");
    this.pageSize = allocator.pageSize;
  }

  /** Pages a request could get now: the free ones plus what eviction can free. */
  availablePages(): number {
    return this.allocator.freeCount + this.prefixCache.sizeInfo().evictablePages;
  }

  /**
   * Starts an admission: takes the longest cached prefix of the request's tokens, locks it and places it at the
   * head of the token table. The last token is never matched, because computing at least one token is what
   * produces the logits to sample from.
   */
  matchAndLock(req: RequestState): void {
    invariant(req.table.numPages === 0 && req.prefixHandle === null, `request ${req.id} already holds pages`);
    const match = this.prefixCache.matchPrefix(req.tokenIds.slice(0, Math.min(req.tokenIds.length - 1, req.maxCachedTokens)));
    this.prefixCache.lock(match.handle);
    req.prefixHandle = match.handle;
    req.table.append(match.pages);
    req.sharedPages = match.pages.length;
    req.kvLength = match.cachedTokens;
    req.cachedTokens = match.cachedTokens;
  }

  /** How many of the next `count` tokens of `req` can get KV slots, counting pages eviction could free. */
  tokensThatFit(req: RequestState, count: number): number {
    const slotsLeft = req.table.capacity - req.kvLength;
    return Math.min(count, slotsLeft + this.availablePages() * this.pageSize);
  }

  /** Extends the request's pages to hold `numTokens` tokens, evicting cached prefixes when the pool runs dry. */
  grow(req: RequestState, numTokens: number): void {
    const missing = req.table.missingPagesFor(numTokens);
    if (missing === 0) return;
    const shortfall = missing - this.allocator.freeCount;
    if (shortfall > 0) this.prefixCache.evict(shortfall);
    const pages = this.allocator.allocate(missing);
    invariant(pages !== null, `no room for ${missing} pages of request ${req.id}; check tokensThatFit first`);
    req.table.append(pages);
  }

  /**
   * Hands the request's computed whole pages to the prefix cache while it keeps running, so requests admitted
   * later share them (SGLang's `cache_unfinished_req`). Where another request cached the same tokens first, the
   * request switches to the cache's pages and frees its duplicates.
   */
  shareComputedPages(req: RequestState): void {
    const wholePages = Math.floor(Math.min(req.kvLength, req.knownLength) / this.pageSize);
    if (wholePages <= req.sharedPages) return;
    const key = req.tokenIds.slice(0, wholePages * this.pageSize);
    const inserted = this.prefixCache.insert(key, req.table.pages.slice(0, wholePages));
    if (inserted.alreadyCachedPages + inserted.adoptedPages <= req.sharedPages) return; // nothing cached (NoCache)
    const match = this.prefixCache.matchPrefix(key);
    this.prefixCache.lock(match.handle);
    if (req.prefixHandle !== null) this.prefixCache.unlock(req.prefixHandle);
    req.prefixHandle = match.handle;
    const duplicates: number[] = [];
    for (let i = req.sharedPages; i < match.pages.length; i++) {
      const own = req.table.pages[i];
      if (own !== match.pages[i]) duplicates.push(own);
    }
    invariant(
      duplicates.length === inserted.alreadyCachedPages - req.sharedPages,
      `request ${req.id}: cached pages disagree with the insert result`,
    );
    req.table.replacePrefix(match.pages);
    req.sharedPages = match.pages.length;
    this.allocator.free(duplicates);
  }

  /**
   * Gives back every page of the request: its computed whole pages go to the prefix cache (for later requests,
   * or for its own recompute after a retraction), duplicates of already cached pages and the partial last page
   * go to the allocator, and its prefix lock is released. The request ends with an empty table.
   */
  release(req: RequestState): void {
    const pages = req.table.pages;
    // Only pages whose tokens are all known go to the cache: a placeholder of a step in flight is not a key.
    const wholePages = Math.min(Math.floor(Math.min(req.kvLength, req.knownLength) / this.pageSize), pages.length);
    let adoptedFrom = 0;
    let adoptedTo = 0;
    if (wholePages > req.sharedPages) {
      const key = req.tokenIds.slice(0, wholePages * this.pageSize);
      const inserted = this.prefixCache.insert(key, pages.slice(0, wholePages));
      invariant(
        inserted.alreadyCachedPages >= req.sharedPages,
        `request ${req.id}: its locked prefix is missing from the cache`,
      );
      adoptedFrom = inserted.alreadyCachedPages;
      adoptedTo = adoptedFrom + inserted.adoptedPages;
    }
    const own = pages.filter((_, i) => i >= req.sharedPages && (i < adoptedFrom || i >= adoptedTo));
    if (req.prefixHandle !== null) this.prefixCache.unlock(req.prefixHandle);
    this.allocator.free(own);
    req.table.clear();
    req.prefixHandle = null;
    req.sharedPages = 0;
    req.kvLength = 0;
  }

  /**
   * Checks that every usable page is in exactly one place: free, in the prefix cache, or owned by one running
   * request, and that waiting requests hold nothing. Throws INTERNAL otherwise.
   */
  checkAccounting(running: readonly RequestState[], waiting: readonly RequestState[]): void {
    this.prefixCache.checkIntegrity();
    const owned = new Set<number>();
    for (const req of running) {
      const { pages } = req.table;
      invariant(req.kvLength <= req.table.capacity, `request ${req.id} has KV beyond its pages`);
      invariant(req.sharedPages <= pages.length && (req.sharedPages === 0 || req.prefixHandle !== null), "bad share");
      for (let i = req.sharedPages; i < pages.length; i++) {
        invariant(!owned.has(pages[i]), `page ${pages[i]} owned twice`);
        invariant(this.allocator.isAllocated(pages[i]), `request ${req.id} holds free page ${pages[i]}`);
        owned.add(pages[i]);
      }
    }
    for (const req of waiting) invariant(req.table.numPages === 0 && req.prefixHandle === null, `waiting ${req.id} holds pages`);
    const accounted = this.allocator.freeCount + this.prefixCache.sizeInfo().totalPages + owned.size;
    invariant(accounted === this.allocator.capacity, `${accounted} pages accounted of ${this.allocator.capacity}`);
  }
}
