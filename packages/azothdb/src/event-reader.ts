import { type AzothEvent, decodeEvent, type EventRange, type EventSource } from '@azothdb/core'

/** Bounds of `db.events()`: inclusive ids and a count. */
export interface EventQuery {
  /** First event id (default 1). */
  readonly from?: number
  /** Last event id, inclusive (default: the head). */
  readonly to?: number
  /** Most events to return. */
  readonly limit?: number
}

/** Decodes stored events lazily, in id order. */
export function* readEvents(source: EventSource, query: EventQuery = {}): Generator<AzothEvent> {
  const range: EventRange = query
  for (const record of source.events(range)) yield decodeEvent(record.id, record.bytes)
}
