import {
  AzothError,
  type EventId,
  type EventRecord,
  type EventSource,
  isAzothError,
  type Logger,
  type ProjectionStore,
  type ProjectionTxControl,
} from '@azothdb/core'
import type { ResolvedBatchPolicy } from './batch-policy.js'
import type { CircuitBreaker } from './circuit-breaker.js'
import { checkCursor, isCursorMoved } from './cursor-guard.js'
import type { FirstFailure } from './event-by-event.js'
import { type EventDispatcher, isThenable } from './event-dispatcher.js'
import type { HandlerTimeouts, HandlerWatch } from './handler-timeouts.js'

/** {@link FastBatch.apply}: the batch committed (or another instance had already applied it). */
export const APPLIED = true
/** The batch goes event by event without a failure to blame (or was never tried whole). */
export const SLOW = undefined

/** What the fast path needs from its projector. */
export interface FastBatchHost<Tx extends ProjectionTxControl> {
  readonly name: string
  readonly source: EventSource
  readonly store: ProjectionStore<Tx>
  readonly dispatcher: EventDispatcher<Tx>
  readonly breaker: CircuitBreaker | undefined
  readonly logger: Logger
  readonly batchPolicy: ResolvedBatchPolicy
  readonly timeouts: HandlerTimeouts
  /** The projector's cursor as last committed. */
  readCursor(): EventId
  /** Called after a committed batch (or a cursor another instance moved). */
  advanceCursor(id: EventId): void
}

/**
 * The fast path of a run: read the next batch after the cursor, apply it whole in one
 * transaction with the cursor, and say which event to blame when a handler fails.
 */
export class FastBatch<Tx extends ProjectionTxControl> {
  // Reused across batches: a run reads many, and each would otherwise allocate its array.
  readonly #buffer: EventRecord[] = []
  readonly #host: FastBatchHost<Tx>
  // One batch at a time per projector (runs are serialized), so one watch serves them all.
  readonly #watch: HandlerWatch

  constructor(host: FastBatchHost<Tx>) {
    this.#host = host
    this.#watch = host.timeouts.watch()
  }

  /** Reads the next batch after the cursor into the reused buffer; a gap in ids is refused. */
  read(target: EventId, permits: number): EventRecord[] {
    const { maxEvents, maxBytes } = this.#host.batchPolicy
    const cursor = this.#host.readCursor()
    const limit = Math.min(maxEvents, permits, target - cursor)
    const out = this.#buffer
    out.length = 0
    let bytes = 0
    let expected = cursor + 1
    for (const record of this.#host.source.events({ from: expected, to: target, limit })) {
      if (record.id !== expected) break
      bytes += record.bytes.length
      // The first event always goes, however large; the next one only if it fits.
      if (out.length > 0 && bytes > maxBytes) break
      out.push(record)
      expected++
    }
    if (out.length === 0) {
      throw new AzothError('PROJECTION_FAILED', `event ${cursor + 1} is missing from the event source`, {
        details: { projector: this.#host.name, eventId: cursor + 1 },
      })
    }
    return out
  }

  /** Drops the records of the last batch, so a finished run holds none. */
  release(): void {
    this.#buffer.length = 0
  }

  /**
   * The whole batch in one transaction, cursor included. Returns the failure to blame (nothing of
   * the batch was committed) or {@link SLOW} so the caller re-applies it event by event.
   */
  async apply(records: readonly EventRecord[]): Promise<typeof APPLIED | FirstFailure | undefined> {
    const { name, store, dispatcher, logger } = this.#host
    // Only a failure inside this batch's handlers may be blamed on one of its events.
    dispatcher.takeFailedRecord()
    const first = records[0]!.id
    const last = records[records.length - 1]!.id
    const watch = this.#watch
    watch.reset()
    let timedOut: AzothError | undefined
    try {
      // A handler that outlives its limit ends the transaction: its writes roll back with the batch,
      // its tx is dead for anything it does later, and the store's writer is free again.
      const bounded = (r: void | Promise<void>): void | Promise<void> => {
        if (r === undefined) return
        return this.#host.timeouts.settle(r, watch).then((timeout) => {
          if (timeout === undefined) return
          timedOut = timeout
          throw timeout
        })
      }
      await store.transaction((tx) => {
        const stored = tx.getCursor(name)
        if (isThenable(stored)) {
          return Promise.resolve(stored).then((c) => bounded(this.#body(c, first, last, records, tx)))
        }
        return bounded(this.#body(stored, first, last, records, tx))
      })
      this.#host.advanceCursor(last)
      // Failures are counted as consecutive: a batch of events that all went through ends a streak.
      this.#host.breaker?.onSuccess()
      return APPLIED
    } catch (e) {
      if (isCursorMoved(e, name)) {
        this.#followMovedCursor(e)
        return APPLIED
      }
      if (timedOut !== undefined && e === timedOut) {
        dispatcher.takeFailedRecord()
        // A `handleBatch` call is nobody's in particular: the event-by-event pass finds the culprit.
        return watch.eventId === undefined ? SLOW : { eventId: watch.eventId, error: e }
      }
      if (isAzothError(e, 'CLOSED', 'IO')) throw e
      logger.debug({ err: e, from: first, to: last }, 'batch failed; re-applying event by event')
      const failed = dispatcher.takeFailedRecord()
      return failed === undefined ? SLOW : { eventId: failed.id, error: e }
    }
  }

  #body(
    stored: EventId,
    first: EventId,
    last: EventId,
    records: readonly EventRecord[],
    tx: Tx,
  ): void | Promise<void> {
    const name = this.#host.name
    checkCursor(name, stored, first)
    // In a savepoint so that an error which ended the whole store transaction (SQLite rolls back
    // on SQLITE_FULL, IOERR, RAISE(ROLLBACK)...) surfaces as PROJECTION_FAILED, never blamed on an
    // event and handed to its error strategy.
    const r = tx.savepoint(() => this.#host.dispatcher.applyBatch(records, tx, this.#watch))
    if (r !== undefined) return r.then(() => tx.setCursor(name, last))
    return tx.setCursor(name, last)
  }

  #followMovedCursor(e: AzothError): void {
    const stored = e.details?.['stored'] as number
    this.#host.logger.warn(
      { stored, cursor: this.#host.readCursor() },
      'cursor moved by another projector instance; following it',
    )
    this.#host.advanceCursor(stored)
  }
}
