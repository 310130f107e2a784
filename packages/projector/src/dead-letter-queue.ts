import {
  AzothError,
  type Clock,
  type DeadLetter,
  type Logger,
  type ProjectionStore,
  type ProjectionTxControl,
} from '@azothdb/core'
import { checkInteger, checkKnownFields, checkNumber, toError } from '@azothdb/core/internal'
import type { CircuitBreaker } from './circuit-breaker.js'
import { backoffDelay } from './error-strategy.js'
import type { EventDispatcher } from './event-dispatcher.js'
import type { HandlerTimeouts } from './handler-timeouts.js'
import type { MetricsCounters } from './projector-metrics.js'

/** Options of the dead-letter queue's automatic replayer. */
export interface DeadLetterQueueOptions {
  /** Replay due dead letters automatically in continuous mode. Default true. */
  readonly autoReplay?: boolean
  /** How often the replayer looks for due rows. Default 1,000 ms. */
  readonly scanIntervalMs?: number
  /** Delay before the first replay of a new dead letter. Default 1,000 ms. */
  readonly initialDelayMs?: number
  /** Cap of the replay delay. Default 300,000 ms. */
  readonly maxDelayMs?: number
  /** Growth of the delay per failed replay. Default 2. */
  readonly multiplier?: number
  /** Failed attempts in all (the original ones included) after which a row becomes `permanent`. Default 5. */
  readonly maxAttempts?: number
  /** Rows replayed per scan at most. Default 100. */
  readonly batchSize?: number
}

interface ResolvedQueueOptions {
  readonly autoReplay: boolean
  readonly scanIntervalMs: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly multiplier: number
  readonly maxAttempts: number
  readonly batchSize: number
}

/** The outcome of re-applying one dead letter. */
export interface DeadLetterRetryResult {
  /** True when the handlers applied it; the row is gone then. */
  readonly applied: boolean
  /** Why it failed again (the row records the attempt). */
  readonly error?: Error
  /** The row's status after a failure. */
  readonly status?: DeadLetter['status']
}

/** @internal what the queue needs from its projector. */
export interface DeadLetterQueueHost<Tx extends ProjectionTxControl> {
  readonly name: string
  readonly store: ProjectionStore<Tx>
  readonly dispatcher: EventDispatcher<Tx>
  readonly clock: Clock
  readonly logger: Logger
  readonly counters: MetricsCounters
  readonly breaker: CircuitBreaker | undefined
  readonly timeouts: HandlerTimeouts
}

/**
 * One projector's view of the dead-letter queue: list, inspect, re-apply, remove, and the automatic
 * replayer. A replayed event is applied after events that came later in the log: handlers of
 * dead-lettered event types should not depend on order (or use `failFast`/`retryWithBackoff`).
 */
export class ProjectorDeadLetters<Tx extends ProjectionTxControl> {
  private readonly options: ResolvedQueueOptions

  /** @internal */
  constructor(
    private readonly host: DeadLetterQueueHost<Tx>,
    options: DeadLetterQueueOptions | undefined,
  ) {
    checkKnownFields('deadLetterQueue', options, [
      'autoReplay',
      'scanIntervalMs',
      'initialDelayMs',
      'maxDelayMs',
      'multiplier',
      'maxAttempts',
      'batchSize',
    ])
    const initialDelayMs = checkNumber('deadLetterQueue.initialDelayMs', options?.initialDelayMs ?? 1_000, 0)
    this.options = {
      autoReplay: options !== undefined && options.autoReplay !== false,
      scanIntervalMs: checkNumber('deadLetterQueue.scanIntervalMs', options?.scanIntervalMs ?? 1_000, 1),
      initialDelayMs,
      maxDelayMs: checkNumber(
        'deadLetterQueue.maxDelayMs',
        options?.maxDelayMs ?? Math.max(300_000, initialDelayMs),
        initialDelayMs,
      ),
      multiplier: checkNumber('deadLetterQueue.multiplier', options?.multiplier ?? 2, 1),
      maxAttempts: checkInteger('deadLetterQueue.maxAttempts', options?.maxAttempts ?? 5, 1),
      batchSize: checkInteger('deadLetterQueue.batchSize', options?.batchSize ?? 100, 1),
    }
  }

  /** This projector's dead letters, oldest first. */
  list(limit = 100): Promise<DeadLetter[]> {
    return this.host.store.deadLetters.list({ projector: this.host.name, limit })
  }

  /** One row, or undefined when absent or another projector's. */
  async get(id: number): Promise<DeadLetter | undefined> {
    const row = await this.host.store.deadLetters.get(id)
    return row?.projector === this.host.name ? row : undefined
  }

  /** How many dead letters this projector has, in any status; a health check can alert when it is above 0. */
  count(): Promise<number> {
    return this.host.store.deadLetters.count({ projector: this.host.name })
  }

  /** Deletes a row (the event is given up for good); false when absent. */
  async remove(id: number): Promise<boolean> {
    if ((await this.get(id)) === undefined) return false
    return this.host.store.deadLetters.remove(id)
  }

  /** Makes a row (also a `permanent` one) due for the replayer now. */
  async markRetry(id: number): Promise<boolean> {
    if ((await this.get(id)) === undefined) return false
    return this.host.store.deadLetters.markRetry(id, this.host.clock.now())
  }

  /**
   * Re-applies a dead letter now through the handlers: on success the handlers' writes and the
   * row's deletion commit together; on failure the attempt is recorded (the row turns `permanent`
   * at `maxAttempts`). Raises `NOT_FOUND` for an unknown id, and for a row that left the queue
   * while this call ran (another `retry`, the replayer or a rebuild took it): its event is applied
   * once, never twice.
   */
  async retry(id: number): Promise<DeadLetterRetryResult> {
    const row = await this.get(id)
    if (row === undefined) {
      throw new AzothError('NOT_FOUND', `no dead letter ${id} for projector '${this.host.name}'`, {
        details: { id },
      })
    }
    const result = await this.replay(row)
    if (result === undefined) {
      throw new AzothError(
        'NOT_FOUND',
        `dead letter ${id} of projector '${this.host.name}' left the queue meanwhile (replayed or removed)`,
        { details: { id } },
      )
    }
    return result
  }

  /** Re-applies every due row of this projector once (what the automatic replayer does per scan). */
  async replayDue(): Promise<{
    /** Due rows found in this scan (at most the queue's `batchSize`). */
    replayed: number
    /** Rows whose event applied this time and were removed from the queue. */
    recovered: number
  }> {
    const rows = await this.host.store.deadLetters.list({
      projector: this.host.name,
      dueBy: this.host.clock.now(),
      limit: this.options.batchSize,
    })
    let recovered = 0
    for (const row of rows) {
      if (row.status === 'permanent') continue
      if (this.host.breaker !== undefined && this.host.breaker.permits() === 0) break
      if ((await this.replay(row))?.applied === true) recovered++
    }
    return { replayed: rows.length, recovered }
  }

  /** @internal when the replayer should first try a newly dead-lettered event. */
  firstRetryAt(): number {
    return this.host.clock.now() + this.options.initialDelayMs
  }

  /** @internal the replayer loop of continuous mode; resolves when `signal` aborts. */
  async startReplayer(signal: AbortSignal): Promise<void> {
    if (!this.options.autoReplay) return
    const { clock, logger } = this.host
    while (!signal.aborted) {
      try {
        await clock.sleep(this.options.scanIntervalMs, signal)
      } catch {
        return
      }
      try {
        await this.replayDue()
      } catch (e) {
        if (signal.aborted) return
        this.host.counters.errors++
        logger.error({ err: e }, 'dead-letter replay scan failed')
      }
    }
  }

  /**
   * Undefined when the row was gone by the time the transaction ran (a concurrent `retry`, the
   * replayer or a rebuild got there first): its event must not be applied a second time, so the
   * row's deletion comes first and an absent row rolls the transaction back before any handler runs.
   */
  private async replay(row: DeadLetter): Promise<DeadLetterRetryResult | undefined> {
    const { store, dispatcher, clock, counters, logger, timeouts } = this.host
    const record = { id: row.eventId, bytes: row.envelope }
    try {
      await store.transaction(async (tx) => {
        if (!(await tx.removeDeadLetter(row.id))) throw new RowGone(row.id)
        counters.replayed++
        const watch = timeouts.watch()
        const pending = tx.savepoint(() => dispatcher.dispatch(record, tx, watch))
        if (pending === undefined) return
        // Thrown out of the transaction: the row's removal and the handler's writes roll back.
        const timeout = await timeouts.settle(pending, watch)
        if (timeout !== undefined) throw timeout
      })
      this.host.breaker?.onSuccess()
      counters.recovered++
      logger.info({ eventId: row.eventId, deadLetter: row.id }, 'dead letter replayed')
      return { applied: true }
    } catch (e) {
      if (e instanceof RowGone && e.id === row.id) return undefined
      const error = toError(e)
      if (error instanceof AzothError && (error.code === 'CLOSED' || error.code === 'IO')) throw error
      this.host.breaker?.onFailure(error)
      counters.errors++
      const attempts = row.attempts + 1
      const now = clock.now()
      const giveUp = attempts >= this.options.maxAttempts
      const { initialDelayMs, maxDelayMs, multiplier } = this.options
      await store.deadLetters.recordAttempt(
        row.id,
        error,
        now,
        giveUp
          ? 'permanent'
          : { nextRetryAt: now + backoffDelay(attempts, initialDelayMs, maxDelayMs, multiplier) },
      )
      if (giveUp) {
        counters.gaveUp++
        logger.error({ err: error, eventId: row.eventId, attempts }, 'dead letter is now permanent')
      }
      return { applied: false, error, status: giveUp ? 'permanent' : 'retrying' }
    }
  }
}

/** The row a replay was about to apply is no longer in the queue. */
class RowGone extends AzothError {
  constructor(readonly id: number) {
    super('NOT_FOUND', `dead letter ${id} is no longer in the queue`, { details: { id } })
  }
}
