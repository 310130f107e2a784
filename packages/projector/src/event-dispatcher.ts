import type { AzothEvent, EventHandler, EventRecord } from '@azothdb/core'
import { decodeEventHeader, type EnvelopeHeader, eventFromHeader } from '@azothdb/core/internal'
import type { HandlerRouter } from './handler-router.js'
import type { HandlerWatch } from './handler-timeouts.js'

/** True for promises and promise-like values. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

// The header is decoded once, for routing and for the event; the payload only when a handler
// reads it (a damaged one then fails that handler, which meets the error strategy). A corruption
// error names the event.
function readHeader(record: EventRecord): EnvelopeHeader {
  return decodeEventHeader(record.bytes, record.id)
}

function toEvent(record: EventRecord, header: EnvelopeHeader): AzothEvent {
  return eventFromHeader(record.id, record.bytes, header)
}

/**
 * Hands events to their handlers. Synchronous handlers keep everything synchronous (no promise per
 * event); the first handler that returns a promise switches the rest of the work to an async path.
 * Events whose type no handler wants are neither decoded nor handed to anyone. Each handler promise
 * is noted in the caller's {@link HandlerWatch}, which times it out.
 */
export class EventDispatcher<Tx> {
  // The event whose handler failed the last applyBatch, when one can be blamed (batches without
  // `handleBatch` handlers): its failure counts as its first attempt.
  private failedRecord: EventRecord | undefined
  private readonly batchHandlers: readonly EventHandler<Tx>[]
  // Reused between batches: one array per handleBatch handler.
  private readonly buckets = new Map<EventHandler<Tx>, AzothEvent[]>()

  constructor(private readonly router: HandlerRouter<Tx>) {
    this.batchHandlers = router.handlers.filter((h) => typeof h.handleBatch === 'function')
    for (const h of this.batchHandlers) this.buckets.set(h, [])
  }

  /** Applies one event with every handler of its type, one handler after the other. */
  dispatch(record: EventRecord, tx: Tx, watch: HandlerWatch): void | Promise<void> {
    const header = readHeader(record)
    const handlers = this.router.route(header)
    if (handlers.length === 0) return
    const event = toEvent(record, header)
    for (let i = 0; i < handlers.length; i++) {
      const h = handlers[i]!
      const r = h.handle(event, tx)
      if (isThenable(r)) {
        watch.note(h, event.id)
        return this.finishHandlers(r, handlers, i + 1, event, tx, watch)
      }
    }
  }

  private async finishHandlers(
    pending: PromiseLike<unknown>,
    handlers: readonly EventHandler<Tx>[],
    from: number,
    event: AzothEvent,
    tx: Tx,
    watch: HandlerWatch,
  ): Promise<void> {
    await pending
    for (let i = from; i < handlers.length; i++) await this.call(handlers[i]!, event, tx, watch)
  }

  /** One `handle` call of the async path, noted when it returns a promise. */
  private call(h: EventHandler<Tx>, event: AzothEvent, tx: Tx, watch: HandlerWatch): unknown {
    const r = h.handle(event, tx)
    if (isThenable(r)) watch.note(h, event.id)
    return r
  }

  /** The event blamed for the last failed {@link applyBatch}, once (it is forgotten here). */
  takeFailedRecord(): EventRecord | undefined {
    const record = this.failedRecord
    this.failedRecord = undefined
    return record
  }

  /**
   * The fast path: a whole batch in one go. Handlers with `handleBatch` get all their events in one
   * call after the others have run; `handle` is called per event for the rest.
   */
  applyBatch(records: readonly EventRecord[], tx: Tx, watch: HandlerWatch): void | Promise<void> {
    this.failedRecord = undefined
    if (this.batchHandlers.length === 0) return this.decodeThenHandle(records, tx, watch)
    for (const bucket of this.buckets.values()) bucket.length = 0
    for (let i = 0; i < records.length; i++) {
      const r = this.collect(records[i]!, tx, watch)
      if (r !== undefined) return this.finishCollecting(r, records, i + 1, tx, watch)
    }
    return this.flushBuckets(tx, watch)
  }

  /**
   * A batch without batch handlers: every event's header is decoded first, then the handlers run
   * (a payload is decoded when a handler reads it). Two tight loops keep the decoder's and the
   * handlers' (SQLite's) code and data in the caches, where alternating between them per event
   * kept evicting both. An event whose header fails to decode fails the batch before any handler
   * ran; the batch is one transaction, so that changes nothing seen.
   */
  private decodeThenHandle(
    records: readonly EventRecord[],
    tx: Tx,
    watch: HandlerWatch,
  ): void | Promise<void> {
    const n = records.length
    const events = new Array<AzothEvent | undefined>(n)
    const routes = new Array<readonly EventHandler<Tx>[]>(n)
    for (let i = 0; i < n; i++) {
      const record = records[i]!
      try {
        const header = readHeader(record)
        const handlers = this.router.route(header)
        if (handlers.length > 0) {
          events[i] = toEvent(record, header)
          routes[i] = handlers
        }
      } catch (e) {
        this.failedRecord = record
        throw e
      }
    }
    for (let i = 0; i < n; i++) {
      const event = events[i]
      if (event === undefined) continue
      const handlers = routes[i]!
      for (let j = 0; j < handlers.length; j++) {
        const h = handlers[j]!
        let r: unknown
        try {
          r = h.handle(event, tx)
        } catch (e) {
          this.failedRecord = records[i]
          throw e
        }
        if (isThenable(r)) {
          watch.note(h, event.id)
          return this.finishHandling(r, records, events, routes, i, j + 1, tx, watch)
        }
      }
    }
  }

  /** The async rest of {@link decodeThenHandle}, from handler `j` of event `i` on. */
  private async finishHandling(
    pending: PromiseLike<unknown>,
    records: readonly EventRecord[],
    events: readonly (AzothEvent | undefined)[],
    routes: readonly (readonly EventHandler<Tx>[])[],
    at: number,
    from: number,
    tx: Tx,
    watch: HandlerWatch,
  ): Promise<void> {
    let i = at
    try {
      await this.finishHandlers(pending, routes[i]!, from, events[i]!, tx, watch)
      for (i = at + 1; i < records.length; i++) {
        const event = events[i]
        if (event === undefined) continue
        const handlers = routes[i]!
        for (let j = 0; j < handlers.length; j++) await this.call(handlers[j]!, event, tx, watch)
      }
    } catch (e) {
      this.failedRecord = records[i]
      throw e
    }
  }

  /** The async rest of a batch with `handleBatch` handlers: collect the rest, then flush. */
  private async finishCollecting(
    pending: Promise<void>,
    records: readonly EventRecord[],
    from: number,
    tx: Tx,
    watch: HandlerWatch,
  ): Promise<void> {
    await pending
    for (let i = from; i < records.length; i++) await this.collect(records[i]!, tx, watch)
    await this.flushBuckets(tx, watch)
  }

  private collect(record: EventRecord, tx: Tx, watch: HandlerWatch): void | Promise<void> {
    const header = readHeader(record)
    const handlers = this.router.route(header)
    if (handlers.length === 0) return
    const event = toEvent(record, header)
    for (let i = 0; i < handlers.length; i++) {
      const h = handlers[i]!
      const bucket = this.buckets.get(h)
      if (bucket !== undefined) {
        bucket.push(event)
        continue
      }
      const r = h.handle(event, tx)
      if (isThenable(r)) {
        watch.note(h, event.id)
        return this.finishCollect(r, handlers, i + 1, event, tx, watch)
      }
    }
  }

  private async finishCollect(
    pending: PromiseLike<unknown>,
    handlers: readonly EventHandler<Tx>[],
    from: number,
    event: AzothEvent,
    tx: Tx,
    watch: HandlerWatch,
  ): Promise<void> {
    await pending
    for (let i = from; i < handlers.length; i++) {
      const h = handlers[i]!
      const bucket = this.buckets.get(h)
      if (bucket !== undefined) bucket.push(event)
      else await this.call(h, event, tx, watch)
    }
  }

  private flushBuckets(tx: Tx, watch: HandlerWatch): void | Promise<void> {
    const handlers = this.batchHandlers
    for (let i = 0; i < handlers.length; i++) {
      const h = handlers[i]!
      const bucket = this.buckets.get(h)!
      if (bucket.length === 0) continue
      const r = h.handleBatch!(bucket, tx)
      if (isThenable(r)) {
        watch.note(h, undefined)
        return this.finishFlush(r, i + 1, tx, watch)
      }
    }
  }

  private async finishFlush(
    pending: PromiseLike<unknown>,
    from: number,
    tx: Tx,
    watch: HandlerWatch,
  ): Promise<void> {
    await pending
    const handlers = this.batchHandlers
    for (let i = from; i < handlers.length; i++) {
      const h = handlers[i]!
      const bucket = this.buckets.get(h)!
      if (bucket.length === 0) continue
      const r = h.handleBatch!(bucket, tx)
      if (isThenable(r)) watch.note(h, undefined)
      await r
    }
  }
}
