import { test } from "node:test";
import assert from "node:assert/strict";
import { PageAllocator } from "../../../src/cache/page-allocator.js";
import { RadixCache } from "../../../src/cache/radix-cache.js";
import { NoCache } from "../../../src/cache/no-cache.js";
import { isIrisError } from "../../../src/core/errors.js";

const internal = (err: unknown) => isIrisError(err, "INTERNAL");
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function setup(pageSize: number, numPages = 64) {
  const allocator = new PageAllocator({ numPages, pageSize });
  return { allocator, cache: new RadixCache(allocator) };
}

/** Inserts `key` the way a finishing request does: fresh pages, the ones the cache does not adopt freed again. */
function insertFresh(allocator: PageAllocator, cache: RadixCache, key: number[]) {
  const pages = allocator.allocate(Math.floor(key.length / cache.pageSize))!;
  const result = cache.insert(key, pages);
  const adopted = pages.slice(result.alreadyCachedPages, result.alreadyCachedPages + result.adoptedPages);
  allocator.free(pages.filter((page) => !adopted.includes(page)));
  return { pages, result };
}

test("matching is page-granular: partial pages are neither stored nor matched", () => {
  const { allocator, cache } = setup(4);
  assert.equal(cache.matchPrefix(range(0, 10)).cachedTokens, 0);
  const { pages, result } = insertFresh(allocator, cache, range(0, 10));
  assert.deepEqual(result, { alreadyCachedPages: 0, adoptedPages: 2 });
  assert.deepEqual(cache.sizeInfo(), { evictablePages: 2, protectedPages: 0, totalPages: 2 });
  const full = cache.matchPrefix(range(0, 20));
  assert.equal(full.cachedTokens, 8);
  assert.deepEqual(full.pages, pages.slice(0, 2));
  // Six equal tokens are one whole page; the second page differs at token 6.
  const partial = cache.matchPrefix([...range(0, 6), 99, 99, 99]);
  assert.equal(partial.cachedTokens, 4);
  assert.deepEqual(partial.pages, [pages[0]]);
  assert.equal(cache.matchPrefix([...range(0, 3), 42]).cachedTokens, 0);
  cache.checkIntegrity();
});

test("inserting a diverging key splits the shared node; both keys keep their pages", () => {
  const { allocator, cache } = setup(2);
  const a = insertFresh(allocator, cache, [1, 2, 3, 4, 5, 6]);
  const b = insertFresh(allocator, cache, [1, 2, 3, 4, 9, 9, 9, 9]);
  assert.deepEqual(b.result, { alreadyCachedPages: 2, adoptedPages: 2 });
  cache.checkIntegrity();
  assert.deepEqual(cache.matchPrefix([1, 2, 3, 4, 5, 6]).pages, a.pages);
  assert.deepEqual(cache.matchPrefix([1, 2, 3, 4, 9, 9, 9, 9]).pages, [...a.pages.slice(0, 2), ...b.pages.slice(2)]);
  assert.equal(cache.sizeInfo().totalPages, 5);
  // A key that already is cached is not adopted: the caller keeps (and here frees) its duplicate pages.
  const again = insertFresh(allocator, cache, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(again.result, { alreadyCachedPages: 3, adoptedPages: 0 });
  assert.equal(cache.sizeInfo().totalPages, 5);
  assert.equal(allocator.freeCount, allocator.capacity - 5);
  cache.checkIntegrity();
});

test("image pad values in the key keep different images apart and share the same image", () => {
  const { allocator, cache } = setup(4);
  const text = range(100, 108);
  const imageA = new Array(8).fill(1_000_000 + 12345);
  const imageB = new Array(8).fill(1_000_000 + 67890);
  insertFresh(allocator, cache, [...text, ...imageA, 7, 7, 7, 7]);
  assert.equal(cache.matchPrefix([...text, ...imageB, 7, 7, 7, 7]).cachedTokens, 8, "only the text is shared");
  assert.equal(cache.matchPrefix([...text, ...imageA, 8, 8, 8, 8]).cachedTokens, 16, "text and image are shared");
  cache.checkIntegrity();
});

test("locked prefixes survive eviction; locks nest and protect the whole path", () => {
  const { allocator, cache } = setup(1);
  insertFresh(allocator, cache, [1, 2, 3]);
  insertFresh(allocator, cache, [1, 2, 7, 8]);
  const match = cache.matchPrefix([1, 2, 3]);
  cache.lock(match.handle);
  cache.lock(match.handle);
  assert.deepEqual(cache.sizeInfo(), { evictablePages: 2, protectedPages: 3, totalPages: 5 });
  cache.checkIntegrity();
  assert.equal(cache.evict(100), 2, "only the unlocked branch [7, 8] goes");
  assert.deepEqual(cache.matchPrefix([1, 2, 3]).pages, match.pages);
  cache.unlock(match.handle);
  assert.equal(cache.evict(100), 0, "still locked once");
  cache.unlock(match.handle);
  assert.throws(() => cache.unlock(match.handle), internal);
  assert.equal(cache.evict(100), 3);
  assert.equal(allocator.freeCount, allocator.capacity);
  assert.throws(() => cache.lock(match.handle), internal, "a handle to an evicted prefix cannot be locked");
  cache.checkIntegrity();
});

test("a split above a locked node keeps its lock accounting", () => {
  const { allocator, cache } = setup(2);
  insertFresh(allocator, cache, range(0, 8));
  const match = cache.matchPrefix(range(0, 8));
  cache.lock(match.handle);
  insertFresh(allocator, cache, [...range(0, 4), 50, 51]); // splits the locked node after two pages
  cache.checkIntegrity();
  assert.deepEqual(cache.sizeInfo(), { evictablePages: 1, protectedPages: 4, totalPages: 5 });
  cache.unlock(match.handle);
  assert.deepEqual(cache.sizeInfo(), { evictablePages: 5, protectedPages: 0, totalPages: 5 });
  cache.checkIntegrity();
});

test("eviction frees least recently used leaves first, then parents that became leaves", () => {
  const { allocator, cache } = setup(1);
  insertFresh(allocator, cache, [9, 9]);
  insertFresh(allocator, cache, [1, 2, 3]); // shared [1], leaves [2, 3] and [4, 5]
  insertFresh(allocator, cache, [1, 4, 5]);
  cache.matchPrefix([1, 2, 3]); // recency now: [9, 9] < [4, 5] < [2, 3]
  assert.equal(cache.evict(1), 2);
  assert.equal(cache.matchPrefix([9, 9]).cachedTokens, 0);
  assert.equal(cache.evict(2), 2);
  assert.equal(cache.matchPrefix([1, 4, 5]).cachedTokens, 1, "the older branch went next");
  assert.equal(cache.matchPrefix([1, 2, 3]).cachedTokens, 3);
  assert.equal(cache.evict(3), 3, "leaf [2, 3] then its parent [1]");
  assert.equal(allocator.freeCount, allocator.capacity);
  assert.equal(cache.evict(0), 0);
  cache.checkIntegrity();
});

test("checkIntegrity catches a cached page freed behind the cache's back and foreign handles", () => {
  const { allocator, cache } = setup(2);
  const { pages } = insertFresh(allocator, cache, range(0, 4));
  const other = setup(2).cache;
  assert.throws(() => other.lock(cache.matchPrefix(range(0, 4)).handle), internal);
  allocator.free([pages[1]]);
  assert.throws(() => cache.checkIntegrity(), internal);
});

test("NoCache matches nothing and adopts nothing", () => {
  const cache = new NoCache(4);
  cache.insert([1, 2, 3, 4], [1]);
  const match = cache.matchPrefix([1, 2, 3, 4, 5]);
  assert.equal(match.cachedTokens, 0);
  assert.deepEqual(match.pages, []);
  cache.lock(match.handle);
  cache.unlock(match.handle);
  assert.deepEqual(cache.insert([1, 2, 3, 4], [1]), { alreadyCachedPages: 0, adoptedPages: 0 });
  assert.equal(cache.evict(10), 0);
  assert.equal(cache.sizeInfo().totalPages, 0);
});

test("randomized inserts, matches, locks and evictions keep every matched page's content right", () => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (const pageSize of [1, 3]) {
    const { allocator, cache } = setup(pageSize, 200);
    // What each page holds: the whole key prefix up to the page's end, as the KV of that page depends on it.
    const content = new Map<number, string>();
    const locked: { handle: ReturnType<RadixCache["matchPrefix"]>["handle"] }[] = [];
    const randomKey = () => Array.from({ length: 1 + random(24) }, () => random(3));
    for (let step = 0; step < 600; step++) {
      const op = random(10);
      const key = randomKey();
      if (op < 4) {
        const wholePages = Math.floor(key.length / pageSize);
        if (allocator.freeCount < wholePages) cache.evict(wholePages - allocator.freeCount);
        const pages = allocator.allocate(wholePages);
        if (pages === null) continue;
        const result = cache.insert(key, pages);
        for (let i = 0; i < pages.length; i++) {
          const adopted = i >= result.alreadyCachedPages && i < result.alreadyCachedPages + result.adoptedPages;
          if (adopted) content.set(pages[i], key.slice(0, (i + 1) * pageSize).join());
          else allocator.free([pages[i]]);
        }
      } else if (op < 7) {
        const match = cache.matchPrefix(key);
        match.pages.forEach((page, i) => assert.equal(content.get(page), key.slice(0, (i + 1) * pageSize).join()));
        if (random(2) === 0) {
          cache.lock(match.handle);
          locked.push(match);
        }
      } else if (op < 8 && locked.length > 0) {
        cache.unlock(locked.splice(random(locked.length), 1)[0].handle);
      } else {
        const before = cache.sizeInfo();
        const freed = cache.evict(random(8));
        assert.equal(cache.sizeInfo().totalPages, before.totalPages - freed);
        assert.equal(cache.sizeInfo().protectedPages, before.protectedPages, "eviction never touches locked pages");
      }
      cache.checkIntegrity();
      assert.equal(allocator.freeCount + cache.sizeInfo().totalPages, allocator.capacity);
    }
    for (const { handle } of locked) cache.unlock(handle);
    cache.evict(Infinity);
    assert.equal(allocator.freeCount, allocator.capacity);
  }
});
