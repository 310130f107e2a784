import type { AzothEvent, EventRange, EventSource } from '@azothdb/core'
import { decodeEventLazily, type Rule, rules } from '@azothdb/core/internal'

/** Bounds of `db.events()`: inclusive ids and a count. */
export interface EventQuery {
  /** First event id (default 1). */
  readonly from?: number
  /** Last event id, inclusive (default: the head). */
  readonly to?: number
  /** Most events to return. */
  readonly limit?: number
}

const COUNT_OR_INFINITY: Rule<number> = {
  expected: 'an integer of at least 0, or Infinity',
  test: (v): v is number => v === Number.POSITIVE_INFINITY || rules.nonNegativeInteger.test(v),
}

/** The fields of an {@link EventQuery}, checked when `db.events()` is called (not at the first read). */
export const EVENT_QUERY_FIELDS = {
  from: rules.nonNegativeInteger,
  to: COUNT_OR_INFINITY,
  limit: COUNT_OR_INFINITY,
}

/** Reads stored events in id order, each payload decoded on its first access. */
export function* readEvents(source: EventSource, query: EventQuery = {}): Generator<AzothEvent> {
  const range: EventRange = query
  for (const record of source.events(range)) yield decodeEventLazily(record.id, record.bytes)
}
