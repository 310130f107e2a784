import {
  AzothError,
  type Clock,
  ConfigError,
  type EventHandler,
  type EventId,
  type EventRecord,
  type EventSource,
  isAzothError,
  type Logger,
  type ProjectionStore,
  type ProjectionTxControl,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { checkInteger, checkKnownFields, toError } from '@azothdb/core/internal'
import { type BatchPolicy, type ResolvedBatchPolicy, resolveBatchPolicy } from './batch-policy.js'
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js'
import { checkCursor, isCursorMoved } from './cursor-guard.js'
import { type DeadLetterQueueOptions, ProjectorDeadLetters } from './dead-letter-queue.js'
import { ErrorStrategy } from './error-strategy.js'
import { EventByEvent, type FirstFailure } from './event-by-event.js'
import { EventDispatcher, isThenable } from './event-dispatcher.js'
import { EventProcessorBuilder } from './event-processor-builder.js'
import { HandlerRouter } from './handler-router.js'
import { MetricsCounters, type ProjectorMetrics, type ProjectorState } from './projector-metrics.js'
import type { RunCounters, RunOnceOptions, RunStats, RunStopReason } from './run-stats.js'

/** Everything a projector needs, as one options object (the builder produces the same). */
export interface EventProcessorOptions<Tx extends ProjectionTxControl> {
  /** Where events come from (the canonical store, or an event log). */
  readonly source: EventSource
  /** Where the projection tables, the cursor and the dead letters live. */
  readonly store: ProjectionStore<Tx>
  /** The cursor's key in the store: unique per projection. Default `'default'`. */
  readonly name?: string
  /**
   * The handlers that apply events; each sees the events of its `eventTypes`, in one transaction per batch.
   */
  readonly handlers: readonly EventHandler<Tx>[]
  /** Default {@link ErrorStrategy.failFast}. */
  readonly errorStrategy?: ErrorStrategy
  /** Enables the automatic replayer of dead letters (and sets its backoff). */
  readonly deadLetterQueue?: DeadLetterQueueOptions
  /**
   * How many events (and bytes) go into one transaction, and how long a partial batch may wait; bad values
   * raise `CONFIG`.
   */
  readonly batch?: BatchPolicy
  /** Fallback poll of the source in continuous mode, for writers in other processes. Default 1,000 ms. */
  readonly pollIntervalMs?: number
  /** Pauses the projector after repeated failures (e.g. a downstream outage); off when omitted. */
  readonly circuitBreaker?: CircuitBreakerOptions
  /** Every wait (retry backoff, replayer, circuit breaker, batch latency) uses it. */
  readonly clock?: Clock
  /** Where skipped, dead-lettered and failed events are logged (default: silent). A pino logger fits. */
  readonly logger?: Logger
}

/** {@link EventProcessor.tryFast}: the batch committed (or another instance had already applied it). */
const APPLIED = true
/** The batch goes event by event without a failure to blame (or was never tried whole). */
const SLOW = undefined

const KNOWN_OPTIONS = [
  'source',
  'store',
  'name',
  'handlers',
  'errorStrategy',
  'deadLetterQueue',
  'batch',
  'pollIntervalMs',
  'circuitBreaker',
  'clock',
  'logger',
]

/**
 * Keeps one projection current: reads events after its cursor, applies them with its handlers in
 * batches, and moves the cursor in the same transaction as the handlers' writes, so every event is
 * applied exactly once across crashes.
 *
 * @example
 * const projector = EventProcessor.builder(source, store)
 *   .withName('balances')
 *   .withHandler(balancesHandler)
 *   .withErrorStrategy(ErrorStrategy.deadLetter())
 *   .build()
 * await projector.runOnce() // or projector.start() ... await projector.stop()
 */
export class EventProcessor<Tx extends ProjectionTxControl = ProjectionTxControl> {
  /** The projector's name: the key of its cursor and dead letters in the projection store. */
  readonly name: string
  /** The dead letters of this projector. */
  readonly deadLetters: ProjectorDeadLetters<Tx>
  /** The batch limits in effect, defaults filled in. */
  readonly batchPolicy: ResolvedBatchPolicy
  private readonly source: EventSource
  private readonly store: ProjectionStore<Tx>
  private readonly strategy: ErrorStrategy
  private readonly dispatcher: EventDispatcher<Tx>
  private readonly router: HandlerRouter<Tx>
  private readonly breaker: CircuitBreaker | undefined
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly pollIntervalMs: number
  private readonly counters = new MetricsCounters()
  private cursor = -1
  private state: ProjectorState = 'idle'
  private exclusive: Promise<unknown> = Promise.resolve()
  private loop: { readonly abort: AbortController; readonly done: Promise<void> } | undefined
  private wake: (() => void) | undefined
  private readonly buffer: EventRecord[] = []
  private readonly eventByEvent: EventByEvent<Tx>

  /** Starts a builder: `EventProcessor.builder(source, store).withHandler(h).build()`. */
  static builder<Tx extends ProjectionTxControl>(
    source: EventSource,
    store: ProjectionStore<Tx>,
  ): EventProcessorBuilder<Tx> {
    return new EventProcessorBuilder(source, store)
  }

  /** Bad options raise `CONFIG`. */
  constructor(options: EventProcessorOptions<Tx>) {
    checkKnownFields('EventProcessor', options, KNOWN_OPTIONS)
    if (options.source === undefined || typeof options.source.events !== 'function') {
      throw new ConfigError('EventProcessor needs an event source', { details: { field: 'source' } })
    }
    if (options.store === undefined || typeof options.store.transaction !== 'function') {
      throw new ConfigError('EventProcessor needs a projection store', { details: { field: 'store' } })
    }
    const name = options.name ?? 'default'
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new ConfigError('projector name must be 1..200 characters', { details: { field: 'name' } })
    }
    if (!Array.isArray(options.handlers) || options.handlers.length === 0) {
      throw new ConfigError(`projector '${name}' needs at least one handler`, {
        details: { field: 'handlers' },
      })
    }
    this.name = name
    this.source = options.source
    this.store = options.store
    this.clock = options.clock ?? systemClock
    this.logger = (options.logger ?? silentLogger).child({ projector: name })
    this.strategy = options.errorStrategy ?? ErrorStrategy.failFast()
    this.batchPolicy = resolveBatchPolicy(options.batch)
    this.pollIntervalMs = checkInteger('pollIntervalMs', options.pollIntervalMs ?? 1_000, 1)
    this.router = new HandlerRouter(options.handlers)
    this.dispatcher = new EventDispatcher(this.router)
    this.breaker =
      options.circuitBreaker === undefined
        ? undefined
        : new CircuitBreaker(options.circuitBreaker, this.clock)
    this.deadLetters = new ProjectorDeadLetters<Tx>(
      {
        name,
        store: this.store,
        dispatcher: this.dispatcher,
        clock: this.clock,
        logger: this.logger,
        counters: this.counters,
        breaker: this.breaker,
      },
      options.deadLetterQueue,
    )
    this.eventByEvent = new EventByEvent<Tx>({
      name,
      store: this.store,
      dispatcher: this.dispatcher,
      strategy: this.strategy,
      breaker: this.breaker,
      counters: this.counters,
      clock: this.clock,
      logger: this.logger,
      firstRetryAt: () => this.deadLetters.firstRetryAt(),
      readCursor: () => this.cursor,
      advanceCursor: (id) => {
        this.cursor = id
      },
    })
  }

  /** Counters, lag and the last error. */
  metrics(): ProjectorMetrics {
    const c = this.counters
    const head = this.target()
    return {
      name: this.name,
      state: this.state,
      cursor: this.cursor,
      head,
      lag: this.cursor < 0 ? head : Math.max(0, head - this.cursor),
      eventsApplied: c.eventsApplied,
      batches: c.batches,
      slowBatches: c.slowBatches,
      errors: c.errors,
      skipped: c.skipped,
      deadLettered: c.deadLettered,
      retries: c.retries,
      eventsPerSecond: c.eventsPerSecond,
      lastError: c.lastError,
      circuit:
        this.breaker === undefined ? undefined : { state: this.breaker.state, opens: this.breaker.opens },
      replayer: { replayed: c.replayed, recovered: c.recovered, gaveUp: c.gaveUp },
    }
  }

  /** The cursor as last read or written (-1 before the first run). */
  get position(): EventId {
    return this.cursor
  }

  /**
   * Applies every event up to the source's head (or its seal) as it is when the run starts, then
   * returns what it did. Stops early when the circuit opens or `signal` aborts. With `failFast`
   * (or a strategy deciding `fail`) it rejects with `PROJECTION_FAILED` after committing the events
   * before the failing one. Runs of one processor never overlap: a second call waits for the first.
   */
  runOnce(options: RunOnceOptions = {}): Promise<RunStats> {
    return this.serialized(() => this.runLocked(options))
  }

  /**
   * Rebuilds the projection: in one transaction calls every handler's `reset`, deletes this
   * projector's dead letters and sets the cursor to 0; then replays every event, reporting
   * progress. Every handler needs a `reset` (else `CONFIG`, nothing touched).
   */
  rebuild(options: RunOnceOptions = {}): Promise<RunStats> {
    const missing = this.router.handlers.filter((h) => typeof h.reset !== 'function')
    if (missing.length > 0) {
      return Promise.reject(
        new ConfigError(
          `cannot rebuild '${this.name}': handler ${missing.map((h) => h.name ?? '(unnamed)').join(', ')} has no reset`,
        ),
      )
    }
    return this.serialized(async () => {
      await this.store.transaction(async (tx) => {
        for (const h of this.router.handlers) await h.reset!(tx)
        await tx.clearDeadLetters(this.name)
        await tx.setCursor(this.name, 0)
      })
      this.cursor = 0
      this.logger.info({}, 'projection reset for rebuild')
      return this.runLocked(options)
    })
  }

  /**
   * Runs continuously until `signal` aborts: catches up, then waits for the source's commit
   * notification (or the fallback poll), and with a dead-letter queue replays due dead letters.
   * Rejects with `PROJECTION_FAILED` when the error strategy fails.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.loop !== undefined) throw new AzothError('CONFIG', `projector '${this.name}' is already running`)
    const abort = new AbortController()
    const onAbort = (): void => abort.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) abort.abort(signal.reason)
    const done = this.continuous(abort.signal)
    this.loop = { abort, done }
    try {
      await done
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.loop = undefined
    }
  }

  /** Starts {@link run} in the background; failures are logged and kept in `metrics().lastError`. */
  start(): void {
    if (this.loop !== undefined) return
    this.run().catch((e: unknown) => {
      this.logger.error({ err: e }, 'projector stopped on an error')
    })
  }

  /** Stops continuous mode after the batch in flight; resolves once it has stopped. */
  async stop(): Promise<void> {
    const loop = this.loop
    if (loop === undefined) return
    loop.abort.abort(new AzothError('CLOSED', 'projector stopped'))
    await loop.done.catch(() => undefined)
  }

  private async continuous(signal: AbortSignal): Promise<void> {
    const unsubscribe = this.source.onCommit(() => this.wake?.())
    const replayer = this.deadLetters.startReplayer(signal)
    this.state = 'running'
    try {
      while (!signal.aborted) {
        const stats = await this.runOnce({ signal })
        if (signal.aborted) break
        if (stats.stoppedBy === 'circuitOpen' && this.breaker !== undefined) {
          await this.sleep(Math.max(1, this.breaker.remainingOpenMs()), signal)
          continue
        }
        await this.waitForEvents(signal)
      }
      this.state = 'stopped'
    } catch (e) {
      if (signal.aborted && isAzothError(e, 'CLOSED')) {
        this.state = 'stopped'
        return
      }
      this.state = 'failed'
      const error = toError(e)
      this.counters.lastError ??= {
        message: error.message,
        code: isAzothError(error) ? error.code : undefined,
        eventId: undefined,
        at: this.clock.now(),
      }
      throw e
    } finally {
      unsubscribe()
      this.wake = undefined
      await replayer
    }
  }

  /** Resolves once events are available and the batch is full or `maxLatencyMs` has passed. */
  private async waitForEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.target() <= this.cursor) {
      await this.sleepUntilWoken(this.pollIntervalMs, signal, () => this.target() > this.cursor)
    }
    const { maxLatencyMs, maxEvents } = this.batchPolicy
    if (maxLatencyMs > 0 && !signal.aborted && this.target() - this.cursor < maxEvents) {
      await this.sleepUntilWoken(maxLatencyMs, signal, () => this.target() - this.cursor >= maxEvents)
    }
  }

  /** Sleeps up to `ms` on the clock, ending early when a commit makes `done()` true or on abort. */
  private async sleepUntilWoken(ms: number, signal: AbortSignal, done: () => boolean): Promise<void> {
    const timer = new AbortController()
    const onAbort = (): void => timer.abort()
    signal.addEventListener('abort', onAbort, { once: true })
    const woken = new Promise<void>((resolve) => {
      this.wake = () => {
        if (done()) resolve()
      }
    })
    try {
      await Promise.race([woken, this.clock.sleep(ms, timer.signal).catch(() => undefined)])
    } finally {
      timer.abort()
      signal.removeEventListener('abort', onAbort)
      this.wake = undefined
    }
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return this.clock.sleep(ms, signal).then(
      () => true,
      () => false,
    )
  }

  private serialized<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.exclusive.then(fn, fn)
    this.exclusive = next.catch(() => undefined)
    return next
  }

  /** The id this run goes to: the head, or the seal when one is set. */
  private target(): EventId {
    const head = this.source.head()
    const seal = this.source.sealedAt
    return seal === undefined ? head : Math.min(head, seal)
  }

  private async runLocked(options: RunOnceOptions): Promise<RunStats> {
    const { signal, onProgress } = options
    if (this.cursor < 0) this.cursor = await this.store.getCursor(this.name)
    const head = this.source.head()
    if (this.cursor > head) {
      // The projection holds effects of events the source does not have (another database, or a
      // source restored from an older backup): applying more would mix two histories.
      throw new AzothError(
        'PROJECTION_FAILED',
        `cursor ${this.cursor} of '${this.name}' is ahead of the source head ${head}; rebuild the projection`,
        { details: { projector: this.name, cursor: this.cursor, head } },
      )
    }
    const from = this.cursor
    const target = this.target()
    const run: RunCounters = { events: 0, batches: 0, skipped: 0, deadLettered: 0, retries: 0 }
    let stoppedBy: RunStopReason = 'caughtUp'
    this.state = 'running'
    try {
      while (this.cursor < target) {
        if (signal?.aborted) {
          stoppedBy = 'aborted'
          break
        }
        const permits = this.breaker?.permits() ?? Number.POSITIVE_INFINITY
        if (permits === 0) {
          stoppedBy = 'circuitOpen'
          break
        }
        const records = this.readBatch(target, permits)
        const started = performance.now()
        const before = this.cursor
        const fast = permits === Number.POSITIVE_INFINITY ? await this.tryFast(records) : SLOW
        let failure: AzothError | undefined
        if (fast !== APPLIED) {
          this.counters.slowBatches++
          const stop = await this.eventByEvent.apply(records, run, signal, fast)
          if (stop.kind === 'fail') failure = this.failed(stop.error, stop.eventId)
          if (stop.kind === 'circuit') stoppedBy = 'circuitOpen'
          if (stop.kind === 'retry') stoppedBy = 'aborted'
        }
        // The events before a failing one were committed with the cursor: they count, also when
        // the run then fails.
        const advanced = this.cursor - before
        run.events += advanced
        run.batches++
        this.counters.recordBatch(advanced, performance.now() - started)
        if (failure !== undefined) throw failure
        onProgress?.({ cursor: this.cursor, target, events: run.events })
        if (stoppedBy !== 'caughtUp') break
      }
    } finally {
      this.buffer.length = 0
      if (this.loop === undefined && this.state === 'running') this.state = 'idle'
    }
    return { from, cursor: this.cursor, target, ...run, stoppedBy }
  }

  /** Reads the next batch after the cursor into the reused buffer; a gap in ids is refused. */
  private readBatch(target: EventId, permits: number): EventRecord[] {
    const { maxEvents, maxBytes } = this.batchPolicy
    const limit = Math.min(maxEvents, permits, target - this.cursor)
    const out = this.buffer
    out.length = 0
    let bytes = 0
    let expected = this.cursor + 1
    for (const record of this.source.events({ from: expected, to: target, limit })) {
      if (record.id !== expected) break
      bytes += record.bytes.length
      // The first event always goes, however large; the next one only if it fits.
      if (out.length > 0 && bytes > maxBytes) break
      out.push(record)
      expected++
    }
    if (out.length === 0) {
      throw new AzothError('PROJECTION_FAILED', `event ${this.cursor + 1} is missing from the event source`, {
        details: { projector: this.name, eventId: this.cursor + 1 },
      })
    }
    return out
  }

  /**
   * The fast path: the whole batch in one transaction, cursor included. Returns false when a
   * handler failed (nothing of the batch was committed) so the caller re-applies it event by event.
   */
  private async tryFast(records: readonly EventRecord[]): Promise<typeof APPLIED | FirstFailure | undefined> {
    // Only a failure inside this batch's handlers may be blamed on one of its events.
    this.dispatcher.takeFailedRecord()
    const first = records[0]!.id
    const last = records[records.length - 1]!.id
    try {
      await this.store.transaction((tx) => {
        const stored = tx.getCursor(this.name)
        if (isThenable(stored)) {
          return Promise.resolve(stored).then((c) => this.fastBody(c, first, last, records, tx))
        }
        return this.fastBody(stored, first, last, records, tx)
      })
      this.cursor = last
      // Failures are counted as consecutive: a batch of events that all went through ends a streak.
      this.breaker?.onSuccess()
      return APPLIED
    } catch (e) {
      if (isCursorMoved(e, this.name)) {
        this.followMovedCursor(e)
        return APPLIED
      }
      if (isAzothError(e, 'CLOSED', 'IO')) throw e
      this.logger.debug({ err: e, from: first, to: last }, 'batch failed; re-applying event by event')
      const failed = this.dispatcher.takeFailedRecord()
      return failed === undefined ? SLOW : { eventId: failed.id, error: e }
    }
  }

  private fastBody(
    stored: EventId,
    first: EventId,
    last: EventId,
    records: readonly EventRecord[],
    tx: Tx,
  ): void | Promise<void> {
    checkCursor(this.name, stored, first)
    // In a savepoint so that an error which ended the whole store transaction (SQLite rolls back
    // on SQLITE_FULL, IOERR, RAISE(ROLLBACK)...) surfaces as PROJECTION_FAILED, never blamed on an
    // event and handed to its error strategy.
    const r = tx.savepoint(() => this.dispatcher.applyBatch(records, tx))
    if (r !== undefined) return r.then(() => tx.setCursor(this.name, last))
    return tx.setCursor(this.name, last)
  }

  private followMovedCursor(e: AzothError): void {
    const stored = e.details?.['stored'] as number
    this.logger.warn(
      { stored, cursor: this.cursor },
      'cursor moved by another projector instance; following it',
    )
    this.cursor = stored
  }

  private failed(error: Error, eventId: EventId): AzothError {
    this.state = 'failed'
    this.logger.error({ err: error, eventId }, 'projection failed')
    return new AzothError(
      'PROJECTION_FAILED',
      `projector '${this.name}' failed on event ${eventId}: ${error.message}`,
      {
        cause: error,
        details: { projector: this.name, eventId },
      },
    )
  }
}
