import type { AzothEvent, EventSource } from '@azothdb/core'
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

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * Stored events in id order, each payload decoded on its first access: a hand-written
 * {@link Generator} over the store's records (a generator function's resume per event cost about
 * 5% of reading one with its header only).
 */
export class DecodedEvents implements Generator<AzothEvent, undefined> {
  readonly #records: Iterator<{ readonly id: number; readonly bytes: Uint8Array }>

  constructor(source: EventSource, query: EventQuery = {}) {
    this.#records = source.events(query)[Symbol.iterator]()
  }

  next(): IteratorResult<AzothEvent, undefined> {
    const r = this.#records.next()
    return r.done === true ? DONE : { done: false, value: decodeEventLazily(r.value.id, r.value.bytes) }
  }

  return(): IteratorResult<AzothEvent, undefined> {
    this.#records.return?.()
    return DONE
  }

  throw(e: unknown): IteratorResult<AzothEvent, undefined> {
    this.#records.return?.()
    throw e
  }

  [Symbol.iterator](): this {
    return this
  }
}
