import {
  AzothError,
  type EventLog,
  type EventLogStats,
  type EventRange,
  type EventRecord,
} from '@azothdb/core'

/** An in-memory EventLog for testing the canonical store's atomic protocol; survives "reopens". */
export class MemoryEventLog implements EventLog {
  records: Uint8Array[] = []
  synced = 0
  failNextSync = false
  truncations: number[] = []

  append(firstId: number, records: readonly Uint8Array[]): void {
    if (firstId !== this.records.length + 1) {
      throw new AzothError('INVALID_ARGUMENT', `expected id ${this.records.length + 1}, got ${firstId}`)
    }
    this.records.push(...records)
  }
  async flush(): Promise<void> {}
  async sync(): Promise<void> {
    if (this.failNextSync) {
      this.failNextSync = false
      throw new Error('disk on fire')
    }
    this.synced = this.records.length
  }
  head(): number {
    return this.records.length
  }
  oldest(): number {
    return 1
  }
  get(id: number): Uint8Array | undefined {
    return this.records[id - 1]
  }
  *read(range: EventRange = {}): IterableIterator<EventRecord> {
    const to = Math.min(range.to ?? this.records.length, this.records.length)
    let left = range.limit ?? Number.POSITIVE_INFINITY
    for (let id = Math.max(1, range.from ?? 1); id <= to && left > 0; id++, left--) {
      yield { id, bytes: this.records[id - 1]! }
    }
  }
  async truncateAfter(id: number): Promise<void> {
    this.truncations.push(id)
    this.records.length = Math.min(this.records.length, id)
  }
  async deleteBefore(): Promise<number> {
    return 0
  }
  stats(): EventLogStats {
    return { events: this.records.length, bytes: 0, segments: 1, oldest: 1, head: this.records.length }
  }
  async close(): Promise<void> {}
}
