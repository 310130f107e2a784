import {
  type EventId,
  type EventRange,
  type EventRecord,
  type EventSource,
  encodeEnvelope,
} from '@azothdb/core'

/** The suite's event source: deposits kept in memory, read back by id, commits announced. */
export class MemoryEventSource implements EventSource {
  readonly #log: Uint8Array[] = []
  readonly #listeners = new Set<(head: EventId) => void>()
  sealedAt: EventId | undefined

  /** Appends one event; returns its id. */
  append(type: string, payload: unknown): EventId {
    this.#log.push(encodeEnvelope({ type, payload, timestamp: 0 }))
    const head = this.#log.length
    for (const l of this.#listeners) l(head)
    return head
  }

  /** The envelope bytes of event `id`. */
  bytes(id: EventId): Uint8Array {
    return this.#log[id - 1]!
  }

  head(): EventId {
    return this.#log.length
  }

  *events(range: EventRange = {}): IterableIterator<EventRecord> {
    const from = Math.max(1, range.from ?? 1)
    const to = Math.min(this.#log.length, range.to ?? this.#log.length)
    const limit = range.limit ?? Number.POSITIVE_INFINITY
    let n = 0
    for (let id = from; id <= to && n < limit; id++, n++) yield { id, bytes: this.#log[id - 1]! }
  }

  onCommit(listener: (head: EventId) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
