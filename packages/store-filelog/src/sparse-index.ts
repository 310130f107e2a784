/**
 * Where some records of one segment start: (id, file offset) pairs in id order, one every
 * `indexIntervalBytes` or so. Finding a record costs a binary search here plus a short forward
 * walk from the entry at or before it. Kept in typed arrays: no object per entry.
 */
export class SparseIndex {
  private ids: Float64Array
  private offsets: Float64Array
  private count = 0

  constructor(capacity = 64) {
    this.ids = new Float64Array(capacity)
    this.offsets = new Float64Array(capacity)
  }

  /** Number of entries. */
  get length(): number {
    return this.count
  }

  /** Adds an entry; ids must increase. */
  push(id: number, offset: number): void {
    if (this.count === this.ids.length) {
      const ids = new Float64Array(this.count * 2)
      const offsets = new Float64Array(this.count * 2)
      ids.set(this.ids)
      offsets.set(this.offsets)
      this.ids = ids
      this.offsets = offsets
    }
    this.ids[this.count] = id
    this.offsets[this.count] = offset
    this.count++
  }

  /** The entry position whose id is the greatest at or below `id`, or -1 when none. */
  floor(id: number): number {
    let lo = 0
    let hi = this.count - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.ids[mid]! <= id) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found
  }

  idAt(position: number): number {
    return this.ids[position]!
  }

  offsetAt(position: number): number {
    return this.offsets[position]!
  }

  /** Drops every entry whose id is above `id`. */
  truncateAfter(id: number): void {
    this.count = this.floor(id) + 1
  }
}
