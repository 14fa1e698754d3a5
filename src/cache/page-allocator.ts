import { checkArgument, invariant } from "../core/errors.js";

/**
 * The page the runner points padding slots at (CUDA-graph batches padded to a captured size, unused page-table
 * entries). When reserved it is never handed out, so garbage written there never lands in a live request's KV.
 */
export const PADDING_PAGE = 0;

export interface PageAllocatorOptions {
  /** Pages in the KV pool, the padding page included when it is reserved. */
  readonly numPages: number;
  /** Tokens per page; every page holds the keys and values of `pageSize` consecutive tokens of one sequence. */
  readonly pageSize: number;
  /** Keep page 0 out of circulation as the padding page (default true). */
  readonly reservePaddingPage?: boolean;
}

/**
 * Hands out KV-cache pages by integer id. It owns the free list only: which request or cache entry holds an
 * allocated page is its holder's business, and the holder gives it back with `free`. A page freed twice, or an
 * id this allocator never handed out, is a bug in Iris and throws INTERNAL.
 */
export class PageAllocator {
  readonly pageSize: number;
  readonly numPages: number;
  /** Pages that can ever be allocated: `numPages` minus the padding page when it is reserved. */
  readonly capacity: number;
  private readonly freeStack: number[] = [];
  private readonly allocated: Uint8Array;
  private readonly firstUsablePage: number;

  constructor(options: PageAllocatorOptions) {
    const { numPages, pageSize } = options;
    checkArgument(Number.isInteger(pageSize) && pageSize >= 1, `pageSize must be a positive integer, got ${pageSize}`);
    this.firstUsablePage = options.reservePaddingPage === false ? 0 : 1;
    checkArgument(
      Number.isInteger(numPages) && numPages > this.firstUsablePage,
      `numPages must be an integer above ${this.firstUsablePage}, got ${numPages}`,
    );
    this.pageSize = pageSize;
    this.numPages = numPages;
    this.capacity = numPages - this.firstUsablePage;
    this.allocated = new Uint8Array(numPages);
    // Stack order hands out low ids first, which keeps runs reproducible and page tables easy to read in tests.
    for (let page = numPages - 1; page >= this.firstUsablePage; page--) this.freeStack.push(page);
  }

  get freeCount(): number {
    return this.freeStack.length;
  }

  /** Pages needed to hold `numTokens` tokens. */
  pagesFor(numTokens: number): number {
    return Math.ceil(numTokens / this.pageSize);
  }

  /** Allocates `count` pages, or returns null (allocating nothing) when fewer than `count` are free. */
  allocate(count: number): number[] | null {
    invariant(Number.isInteger(count) && count >= 0, `cannot allocate ${count} pages`);
    if (count > this.freeStack.length) return null;
    const pages = this.freeStack.splice(this.freeStack.length - count, count).reverse();
    for (const page of pages) this.allocated[page] = 1;
    return pages;
  }

  /** Returns pages to the pool. Every id must be allocated and appear once; nothing is freed otherwise. */
  free(pages: readonly number[]): void {
    invariant(new Set(pages).size === pages.length, `page freed twice in one call: [${pages.join(", ")}]`);
    for (const page of pages) {
      invariant(this.owns(page), `page ${page} is not a page of this allocator`);
      invariant(this.allocated[page] === 1, `page ${page} freed while not allocated (double free)`);
    }
    for (const page of pages) {
      this.allocated[page] = 0;
      this.freeStack.push(page);
    }
  }

  isAllocated(page: number): boolean {
    return this.owns(page) && this.allocated[page] === 1;
  }

  private owns(page: number): boolean {
    return Number.isInteger(page) && page >= this.firstUsablePage && page < this.numPages;
  }
}
