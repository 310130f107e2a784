import {
  type AzothEvent,
  type Clock,
  decodeEvent,
  type EventId,
  type EventRecord,
  isAzothError,
  type Logger,
  type NewDeadLetter,
  type ProjectionStore,
  type ProjectionTxControl,
} from '@azothdb/core'
import { readEventType, toError } from '@azothdb/core/internal'
import type { CircuitBreaker } from './circuit-breaker.js'
import { checkCursor } from './cursor-guard.js'
import { checkDecision, type ErrorStrategy, type FailureDecision } from './error-strategy.js'
import type { EventDispatcher } from './event-dispatcher.js'
import type { HandlerTimeouts } from './handler-timeouts.js'
import type { MetricsCounters } from './projector-metrics.js'
import type { RunCounters } from './run-stats.js'

/** A failure of the whole-batch attempt that one event's handler caused: its first attempt. */
export interface FirstFailure {
  readonly eventId: EventId
  readonly error: unknown
}

/** How a per-event pass ended. */
export type EventByEventStop =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'fail'; readonly error: Error; readonly eventId: EventId }
  | { readonly kind: 'circuit' }

/** @internal what the per-event path needs from its projector. */
export interface EventByEventHost<Tx extends ProjectionTxControl> {
  readonly name: string
  readonly store: ProjectionStore<Tx>
  readonly dispatcher: EventDispatcher<Tx>
  readonly strategy: ErrorStrategy
  readonly breaker: CircuitBreaker | undefined
  readonly counters: MetricsCounters
  readonly clock: Clock
  readonly logger: Logger
  readonly timeouts: HandlerTimeouts
  /** When the replayer should first try a new dead letter. */
  firstRetryAt(): number
  /** The projector's cursor as last committed. */
  readCursor(): EventId
  /** Called after each committed transaction that moved the cursor. */
  advanceCursor(id: EventId): void
}

/**
 * The slow path, taken when a batch failed as a whole: one savepoint per event, so good events
 * land and a failing one meets the error strategy (skip and dead-letter go on in the same
 * transaction). A retry commits the events before the failing one, waits outside any transaction
 * on the clock, then goes on from the failing event; a failure or an opening circuit stops there.
 * A handler that times out ends the whole transaction (so nothing it writes later can land); the
 * transaction is then re-applied with that event failed by its timeout.
 */
export class EventByEvent<Tx extends ProjectionTxControl> {
  constructor(private readonly host: EventByEventHost<Tx>) {}

  async apply(
    records: readonly EventRecord[],
    run: RunCounters,
    signal: AbortSignal | undefined,
    firstFailure?: FirstFailure,
  ): Promise<EventByEventStop> {
    const { host } = this
    let index = 0
    let attempt = 0
    // The batch attempt already called the handlers of this event once: that failure is its first
    // attempt, so the strategy sees it now instead of after a second call.
    let blamed =
      firstFailure !== undefined && !isAzothError(firstFailure.error, 'PROJECTION_FAILED', 'CLOSED', 'IO')
        ? firstFailure
        : undefined
    const watch = host.timeouts.watch()
    // Skip and dead-letter decisions of this pass by event: a transaction ended by a timeout is
    // re-applied, and those events keep their decision instead of meeting their handlers again
    // (which could hang again, forever).
    let decided: Map<EventId, Decided> | undefined
    while (index < records.length) {
      const start = index
      let timedOut: TimedOut | undefined
      const outcome = await host.store
        .transaction(async (tx) => {
          checkCursor(host.name, await tx.getCursor(host.name), records[index]!.id)
          let last = records[index]!.id - 1
          let stop: EventByEventStop = { kind: 'done' }
          for (; index < records.length; index++) {
            const record = records[index]!
            const known = decided?.get(record.id)
            if (known !== undefined) {
              if (known !== SKIPPED) await tx.addDeadLetter(known)
              last = record.id
              continue
            }
            host.breaker?.onAttempt()
            try {
              if (blamed !== undefined && blamed.eventId === record.id) {
                const { error } = blamed
                blamed = undefined
                throw error
              }
              watch.reset()
              const pending = tx.savepoint(() => host.dispatcher.dispatch(record, tx, watch))
              if (pending !== undefined) {
                const timeout = await host.timeouts.settle(pending, watch)
                if (timeout !== undefined) {
                  timedOut = new TimedOut(record.id, timeout)
                  break
                }
              }
              host.breaker?.onSuccess()
              attempt = 0
              last = record.id
            } catch (e) {
              // The store itself failed: nothing of this transaction survives, let the run fail.
              if (isAzothError(e, 'PROJECTION_FAILED', 'CLOSED', 'IO')) throw e
              attempt++
              const error = toError(e)
              const decision = this.onFailure(error, record, attempt)
              if (decision === 'circuit') {
                stop = { kind: 'circuit' }
                break
              }
              if (decision.action === 'retry') {
                stop = { kind: 'retry', delayMs: decision.delayMs }
                break
              }
              if (decision.action === 'fail') {
                stop = { kind: 'fail', error, eventId: record.id }
                break
              }
              decided ??= new Map()
              if (decision.action === 'skip') {
                decided.set(record.id, SKIPPED)
                host.counters.skipped++
                run.skipped++
                host.logger.warn({ err: error, eventId: record.id }, 'event skipped after a handler failure')
              } else {
                const letter: NewDeadLetter = {
                  projector: host.name,
                  eventId: record.id,
                  eventType: safeType(record),
                  envelope: record.bytes,
                  error,
                  attempts: attempt,
                  failedAt: host.clock.now(),
                  nextRetryAt: host.firstRetryAt(),
                }
                decided.set(record.id, letter)
                await tx.addDeadLetter(letter)
                host.counters.deadLettered++
                run.deadLettered++
                host.logger.warn(
                  { err: error, eventId: record.id, eventType: letter.eventType, attempts: attempt },
                  'event dead-lettered',
                )
              }
              attempt = 0
              last = record.id
            }
          }
          if (timedOut !== undefined) throw timedOut
          if (last >= records[0]!.id && last > host.readCursor()) await tx.setCursor(host.name, last)
          return { stop, last }
        })
        .catch((e: unknown) => {
          if (timedOut === undefined || e !== timedOut) throw e
          return undefined
        })
      if (outcome === undefined) {
        // Rolled back: again from the first event of that transaction, the late one failing at once
        // by its timeout, the ones decided before it keeping their decision.
        index = start
        blamed = { eventId: timedOut!.eventId, error: timedOut!.error }
        continue
      }
      if (outcome.last > host.readCursor()) host.advanceCursor(outcome.last)
      const stop = outcome.stop
      if (stop.kind !== 'retry') return stop
      host.counters.retries++
      run.retries++
      const waited = await host.clock.sleep(stop.delayMs, signal).then(
        () => true,
        () => false,
      )
      if (!waited) return stop
    }
    return { kind: 'done' }
  }

  /** Counts and classifies a failure; 'circuit' when the breaker opened and the event must wait. */
  private onFailure(error: Error, record: EventRecord, attempt: number): FailureDecision | 'circuit' {
    const { host } = this
    host.counters.errors++
    host.counters.lastError = {
      message: error.message,
      code: isAzothError(error) ? error.code : undefined,
      eventId: record.id,
      at: host.clock.now(),
    }
    // The breaker logs its own transitions.
    if (host.breaker?.onFailure(error)) return 'circuit'
    return checkDecision(
      host.strategy.decide({
        projector: host.name,
        error,
        eventId: record.id,
        eventType: safeType(record),
        event: tryDecode(record),
        attempt,
      }),
    )
  }
}

const SKIPPED = 'skipped'
type Decided = NewDeadLetter | typeof SKIPPED

/** Ends a transaction whose handler timed out, so the abandoned handler's writes roll back. */
class TimedOut {
  constructor(
    readonly eventId: EventId,
    readonly error: Error,
  ) {}
}

function safeType(record: EventRecord): string {
  try {
    return readEventType(record.bytes)
  } catch {
    return '(unreadable)'
  }
}

function tryDecode(record: EventRecord): AzothEvent | undefined {
  try {
    return decodeEvent(record.id, record.bytes)
  } catch {
    return undefined
  }
}
