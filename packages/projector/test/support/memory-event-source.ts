import {
  type EventId,
  type EventRange,
  type EventRecord,
  type EventSource,
  encodeEnvelope,
} from '@azothdb/core'

/** An in-memory event source for tests: append envelopes, read them back by id, notify on append. */
export class MemoryEventSource implements EventSource {
  private readonly log: Uint8Array[] = []
  private readonly listeners = new Set<(head: EventId) => void>()
  sealedAt: EventId | undefined

  /** Appends one event with a CBOR payload; returns its id. */
  append(type: string, payload: unknown, timestamp = 0): EventId {
    this.log.push(encodeEnvelope({ type, payload, timestamp }))
    const head = this.log.length
    for (const l of this.listeners) l(head)
    return head
  }

  /** Appends raw envelope bytes (for corrupt-event tests). */
  appendBytes(bytes: Uint8Array): EventId {
    this.log.push(bytes)
    for (const l of this.listeners) l(this.log.length)
    return this.log.length
  }

  head(): EventId {
    return this.log.length
  }

  *events(range: EventRange = {}): IterableIterator<EventRecord> {
    const from = Math.max(1, range.from ?? 1)
    const to = Math.min(this.log.length, range.to ?? this.log.length)
    const limit = range.limit ?? Number.POSITIVE_INFINITY
    let n = 0
    for (let id = from; id <= to && n < limit; id++, n++) yield { id, bytes: this.log[id - 1]! }
  }

  onCommit(listener: (head: EventId) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
