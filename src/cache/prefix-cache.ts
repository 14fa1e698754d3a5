/**
 * The prefix cache contract (modelled on mini-sglang's `BasePrefixCache`). A prefix cache maps token-id sequences
 * (keys) to the KV pages that hold them, so a request whose prompt starts like an earlier one reuses those pages
 * instead of recomputing them.
 *
 * Keys are the prompt's token ids with every image token replaced by its image's content key (a hash of the
 * processed image and its layout, SGLang's `pad_value`): two prompts with the same text but different images
 * differ at the first image token and share only the text before it.
 *
 * Granularity is the page: only whole pages are stored and matched, so every length below is a multiple of
 * `pageSize` and a key's tail shorter than a page is ignored.
 *
 * Ownership and locking:
 * - A page is owned by exactly one holder: the allocator (free), a request (computed by it, not yet cached) or
 *   the cache. Only the owner frees it.
 * - `insert` hands pages from the caller to the cache; `evict` is the only way the cache gives pages back, and it
 *   frees them to the allocator the cache was built with.
 * - `matchPrefix` returns pages the caller may read but does not own. They stay valid only while the returned
 *   handle is locked: lock it before the next `evict`, and unlock it once the pages are no longer read (after the
 *   request's own pages have been inserted, so the shared prefix is never evictable while in use).
 * - Locks nest: a handle locked twice needs two unlocks. A locked entry protects its whole path to the root.
 */
export interface PrefixCache {
  /** Tokens per page; equal to the allocator's. */
  readonly pageSize: number;
  /** Whether inserted pages are ever matched (false for `NoCache`): the scheduler only waits for a cache that shares. */
  readonly sharesPrefixes: boolean;

  /**
   * Finds the longest cached prefix of `key`, in whole pages. Does not change what is cached or its size info,
   * though it may restructure the tree (split a node) so the match ends on an entry boundary, and it marks the
   * matched entries as recently used.
   */
  matchPrefix(key: readonly number[]): PrefixMatch;

  /** Protects the entries of a match from eviction. */
  lock(handle: PrefixHandle): void;

  /** Undoes one `lock`; unlocking a handle that is not locked is an internal error. */
  unlock(handle: PrefixHandle): void;

  /**
   * Caches `key` with its KV in `pages` (`pages[i]` holds tokens `i * pageSize ..`); only the first
   * `floor(key.length / pageSize)` pages are considered. The leading `alreadyCachedPages` pages were in the cache
   * before: the cache keeps its own copies and the caller keeps (and eventually frees) its duplicates, except the
   * pages it obtained from `matchPrefix`, which are the cache's. The next `adoptedPages` pages now belong to the
   * cache. Every other page stays the caller's.
   */
  insert(key: readonly number[], pages: readonly number[]): InsertResult;

  /**
   * Frees at least `numPages` pages (more when a whole entry goes at once) from least-recently-used unlocked
   * leaves, or every evictable page when there are fewer. Returns the number freed; evicting 0 does nothing.
   */
  evict(numPages: number): number;

  sizeInfo(): PrefixCacheSizeInfo;

  /** Re-derives every invariant (structure, sizes, locks, page ownership) and throws INTERNAL on a violation. */
  checkIntegrity(): void;
}

/** An opaque reference to a matched prefix, used to lock and unlock it. */
export interface PrefixHandle {
  /** Tokens of the prefix this handle covers (a multiple of the page size). */
  readonly cachedTokens: number;
}

export interface PrefixMatch {
  readonly handle: PrefixHandle;
  /** Length of the match in tokens; a multiple of the page size. */
  readonly cachedTokens: number;
  /** The pages holding the matched tokens, in order; valid only while `handle` is locked. */
  readonly pages: readonly number[];
}

export interface InsertResult {
  /** Leading pages of the key that were cached before this insert. */
  readonly alreadyCachedPages: number;
  /** Pages that moved from the caller to the cache, right after the already cached ones. */
  readonly adoptedPages: number;
}

export interface PrefixCacheSizeInfo {
  /** Pages in unlocked entries: what `evict` can free. */
  readonly evictablePages: number;
  /** Pages in locked entries. */
  readonly protectedPages: number;
  readonly totalPages: number;
}
