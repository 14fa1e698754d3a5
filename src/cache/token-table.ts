import { invariant } from "../core/errors.js";

/**
 * One request's row of the request-to-token table: the pages its tokens occupy, in sequence order. Token `i`
 * lives in KV slot `pages[i / pageSize] * pageSize + i % pageSize`. The table records placement only; whether a
 * page belongs to the request or is shared with the prefix cache is tracked by whoever fills it.
 */
export class TokenTable {
  private readonly pageList: number[] = [];

  constructor(readonly pageSize: number) {}

  /** The pages in sequence order: a live view, valid until the table next changes. */
  get pages(): readonly number[] {
    return this.pageList;
  }

  get numPages(): number {
    return this.pageList.length;
  }

  /** Tokens the current pages can hold. */
  get capacity(): number {
    return this.pageList.length * this.pageSize;
  }

  /** Pages still to append before the table can hold `numTokens` tokens. */
  missingPagesFor(numTokens: number): number {
    return Math.max(0, Math.ceil(numTokens / this.pageSize) - this.pageList.length);
  }

  append(pages: readonly number[]): void {
    for (const page of pages) this.pageList.push(page);
  }

  /** Replaces the first `pages.length` entries (used when duplicate pages are swapped for the cache's copies). */
  replacePrefix(pages: readonly number[]): void {
    invariant(pages.length <= this.pageList.length, "replacement longer than the token table");
    for (let i = 0; i < pages.length; i++) this.pageList[i] = pages[i];
  }

  slotOf(position: number): number {
    const page = this.pageList[Math.floor(position / this.pageSize)];
    invariant(page !== undefined, `token ${position} is beyond the table's ${this.capacity} slots`);
    return page * this.pageSize + (position % this.pageSize);
  }

  /** KV slots of tokens `start .. start + count - 1`. */
  slotsFor(start: number, count: number): Int32Array {
    invariant(start + count <= this.capacity, `tokens up to ${start + count} exceed the table's ${this.capacity} slots`);
    const slots = new Int32Array(count);
    for (let i = 0; i < count; i++) slots[i] = this.slotOf(start + i);
    return slots;
  }

  /** Empties the table and returns the pages it held. */
  clear(): number[] {
    return this.pageList.splice(0, this.pageList.length);
  }
}
