import { SEGMENT_HEADER_BYTES } from './segment-format.js'
import { SparseIndex } from './sparse-index.js'

/** The in-memory state of one segment file. */
export class Segment {
  /**
   * Open descriptor, or -1: sealed segments are opened for reading on demand (a bounded number at
   * a time), so a long log does not hold a descriptor per segment.
   */
  fd = -1
  /** True when `fd` was opened for writing (the active segment, or a sealed one not yet synced). */
  writable = false
  /** Deleted by retention or truncation: its records are gone. */
  retired = false
  /** Records stored (including ones still in the write buffer). */
  count = 0
  /** Logical end of the file: header plus every record, buffered ones included. */
  size = SEGMENT_HEADER_BYTES
  /** File bytes covered by the index sidecar on disk (0: none). */
  sidecarSize = 0
  /** Written since its last fdatasync. */
  dirty = false
  readonly index = new SparseIndex()
  /** Record bytes since the last index entry (Infinity: the next record starts an entry). */
  bytesSinceIndex = Number.POSITIVE_INFINITY

  constructor(
    readonly firstId: number,
    readonly path: string,
  ) {}

  /** The last id stored, `firstId - 1` when empty. */
  get lastId(): number {
    return this.firstId + this.count - 1
  }

  /** Accounts for one record written (or found) at `offset`. */
  noteRecord(id: number, offset: number, total: number, indexIntervalBytes: number): void {
    if (this.bytesSinceIndex >= indexIntervalBytes) {
      this.index.push(id, offset)
      this.bytesSinceIndex = 0
    }
    this.bytesSinceIndex += total
    this.count++
    this.size = offset + total
  }

  /** Forgets every record after `lastKeptId`; `end` is the file offset where they started. */
  truncateTo(lastKeptId: number, end: number): void {
    this.index.truncateAfter(lastKeptId)
    this.count = lastKeptId - this.firstId + 1
    this.size = end
    const n = this.index.length
    this.bytesSinceIndex = n === 0 ? Number.POSITIVE_INFINITY : end - this.index.offsetAt(n - 1)
  }
}
