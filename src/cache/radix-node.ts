import { invariant } from "../core/errors.js";

/**
 * The key of a child edge: its first page of tokens. Siblings never share a first page, because two keys that
 * agree on a whole page continue in the same child.
 */
export type EdgeKey = number | string;

export function edgeKey(tokens: readonly number[], offset: number, pageSize: number): EdgeKey {
  // A single number is the cheap common case (page size 1); longer pages join into a string key.
  if (pageSize === 1) return tokens[offset];
  return tokens.slice(offset, offset + pageSize).join(",");
}

/** A node of the radix tree: a run of whole pages and the tokens they hold. */
export class RadixNode {
  readonly children = new Map<EdgeKey, RadixNode>();
  /** Handles locked at this node or below; the node is evictable only at 0. */
  lockCount = 0;
  /** Logical time of the last match or insert through this node; never older than any child's. */
  lastAccess: number;
  /** Set once evicted, so a stale handle cannot be locked. */
  detached = false;

  constructor(
    public tokens: number[],
    public pages: number[],
    public parent: RadixNode | null,
    lastAccess: number,
  ) {
    this.lastAccess = lastAccess;
  }

  get numPages(): number {
    return this.pages.length;
  }

  isLeaf(): boolean {
    return this.children.size === 0;
  }

  /** Whole pages of this node's tokens that equal `key` from `offset` on. */
  matchingPages(key: readonly number[], offset: number, pageSize: number): number {
    const limit = Math.min(this.tokens.length, key.length - offset);
    let same = 0;
    while (same < limit && this.tokens[same] === key[offset + same]) same++;
    return Math.floor(same / pageSize);
  }

  /**
   * Splits this node after its first `numPages` pages: a new node takes those pages and this node's place under
   * the parent, and this node keeps the rest as its only child. Existing handles to this node stay valid, and the
   * new node inherits the lock count because every lock through this node also passes through it.
   */
  splitAt(numPages: number, pageSize: number): RadixNode {
    const parent = this.parent;
    invariant(parent !== null, "cannot split the root");
    invariant(numPages > 0 && numPages < this.numPages, `split at ${numPages} of ${this.numPages} pages`);
    const cut = numPages * pageSize;
    const head = new RadixNode(this.tokens.slice(0, cut), this.pages.slice(0, numPages), parent, this.lastAccess);
    head.lockCount = this.lockCount;
    parent.children.set(edgeKey(this.tokens, 0, pageSize), head);
    this.tokens = this.tokens.slice(cut);
    this.pages = this.pages.slice(numPages);
    this.parent = head;
    head.children.set(edgeKey(this.tokens, 0, pageSize), this);
    return head;
  }
}
