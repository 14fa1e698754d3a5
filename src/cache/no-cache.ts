import { invariant } from "../core/errors.js";
import type { InsertResult, PrefixCache, PrefixCacheSizeInfo, PrefixHandle, PrefixMatch } from "./prefix-cache.js";

const EMPTY_HANDLE: PrefixHandle = Object.freeze({ cachedTokens: 0 });

/**
 * The prefix cache when it is disabled (SGLang's `disable_radix_cache`): nothing matches and nothing is adopted,
 * so every request computes its whole prompt and frees all its pages itself.
 */
export class NoCache implements PrefixCache {
  readonly sharesPrefixes = false;

  constructor(readonly pageSize: number) {}

  matchPrefix(_key: readonly number[]): PrefixMatch {
    return { handle: EMPTY_HANDLE, cachedTokens: 0, pages: [] };
  }

  lock(handle: PrefixHandle): void {
    invariant(handle === EMPTY_HANDLE, "handle does not come from this cache");
  }

  unlock(handle: PrefixHandle): void {
    invariant(handle === EMPTY_HANDLE, "handle does not come from this cache");
  }

  insert(_key: readonly number[], _pages: readonly number[]): InsertResult {
    return { alreadyCachedPages: 0, adoptedPages: 0 };
  }

  evict(_numPages: number): number {
    return 0;
  }

  sizeInfo(): PrefixCacheSizeInfo {
    return { evictablePages: 0, protectedPages: 0, totalPages: 0 };
  }

  checkIntegrity(): void {}
}
