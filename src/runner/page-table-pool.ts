/**
 * Every running request's KV pages as one row of a device table of fixed width ceil(contextLength / pageSize), kept
 * across steps (SGLang's req_to_token pool): a step uploads only the pages that changed (a decode step: one page
 * per request every pageSize tokens) and gathers its sequences' rows into the attention kernels' page table.
 */
import { copy } from "../kernels/copy.js";
import { empty, upload } from "../runtime/creation.js";
import type { Device } from "../runtime/device.js";
import type { Tensor } from "../runtime/tensor.js";

/** Request ids are user strings; this one is not a valid rid (it holds a NUL). */
const PADDING_ROW_ID = "\u0000padding";

export class PageTablePool {
  private table: Tensor;
  /** The host's copy of the table, to upload only what changed. */
  private mirror: Int32Array;
  /** Pages of each row known to be on the device. */
  private known: Int32Array;
  private readonly rowOf = new Map<string, number>();
  private readonly freeRows: number[] = [];
  private grown = 0;

  constructor(private readonly device: Device, readonly width: number, rows: number) {
    this.table = empty(device, [rows, width], "I32");
    this.mirror = new Int32Array(rows * width);
    this.known = new Int32Array(rows);
    for (let r = rows - 1; r >= 0; r--) this.freeRows.push(r);
  }

  /** The device table [rows, width]; rows of requests not in a step hold stale pages. */
  get tensor(): Tensor {
    return this.table;
  }

  /**
   * The row of `requestId` with its first `count` pages equal to `pages`, uploading the entries that differ (after
   * a retraction or a prefix match the pages change, not only grow). Called while a step is prepared.
   */
  sync(requestId: string, pages: ArrayLike<number>, count: number): number {
    const row = this.rowFor(requestId);
    const base = row * this.width;
    let first = 0;
    const known = this.known[row];
    while (first < Math.min(count, known) && this.mirror[base + first] === pages[first]) first++;
    if (first < count) {
      for (let p = first; p < count; p++) this.mirror[base + p] = pages[p];
      upload(this.table.view([-1]).narrow(base + first, count - first), this.mirror.subarray(base + first, base + count));
    }
    this.known[row] = count;
    return row;
  }

  /** Bumped each time the table moves to a larger one: graphs captured over the old one must be captured again. */
  get generation(): number {
    return this.grown;
  }

  /** A row whose first page is the padding page 0: the padding sequences of a graph's bucket read one key there. */
  paddingRow(): number {
    return this.sync(PADDING_ROW_ID, [0], 1);
  }

  /** Frees the row of a request that left. */
  remove(requestId: string): void {
    const row = this.rowOf.get(requestId);
    if (row === undefined) return;
    this.rowOf.delete(requestId);
    this.known[row] = 0;
    this.freeRows.push(row);
  }

  private rowFor(requestId: string): number {
    const row = this.rowOf.get(requestId);
    if (row !== undefined) return row;
    if (this.freeRows.length === 0) this.grow();
    const fresh = this.freeRows.pop()!;
    this.rowOf.set(requestId, fresh);
    return fresh;
  }

  /** Doubles the rows (more requests were admitted than ever before, retracted ones keeping theirs). */
  private grow(): void {
    const rows = this.table.shape[0];
    const table = empty(this.device, [2 * rows, this.width], "I32");
    copy(table.narrow(0, rows), this.table);
    this.table.dispose();
    this.table = table;
    this.grown++;
    const mirror = new Int32Array(2 * rows * this.width);
    mirror.set(this.mirror);
    this.mirror = mirror;
    const known = new Int32Array(2 * rows);
    known.set(this.known);
    this.known = known;
    for (let r = 2 * rows - 1; r >= rows; r--) this.freeRows.push(r);
  }

  dispose(): void {
    this.table.dispose();
  }
}
