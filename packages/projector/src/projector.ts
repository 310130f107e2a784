import {
  AzothError,
  type Clock,
  ClosedError,
  ConfigError,
  type EventId,
  type EventSource,
  isAzothError,
  type Logger,
  type ProjectionStore,
  type ProjectionTxControl,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { checkInteger, checkKnownFields, HeadFollower, toError } from '@azothdb/core/internal'
import { type ResolvedBatchPolicy, resolveBatchPolicy } from './batch-policy.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { ProjectorDeadLetters } from './dead-letter-queue.js'
import { ErrorStrategy } from './error-strategy.js'
import { EventByEvent } from './event-by-event.js'
import { EventDispatcher } from './event-dispatcher.js'
import { APPLIED, FastBatch, SLOW } from './fast-batch.js'
import { HandlerRouter } from './handler-router.js'
import { HandlerTimeouts } from './handler-timeouts.js'
import { ProjectorBuilder } from './projector-builder.js'
import {
  MetricsCounters,
  type ProjectorMetrics,
  type ProjectorState,
  snapshotMetrics,
} from './projector-metrics.js'
import { PROJECTOR_OPTION_FIELDS, type ProjectorOptions } from './projector-options.js'
import type { RunCounters, RunOnceOptions, RunStats, RunStopReason } from './run-stats.js'

/**
 * Keeps one projection current: reads events after its cursor, applies them with its handlers in
 * batches, and moves the cursor in the same transaction as the handlers' writes, so every event is
 * applied exactly once across crashes.
 *
 * @example
 * const projector = Projector.builder(source, store)
 *   .withName('balances')
 *   .withHandler(balancesHandler)
 *   .withErrorStrategy(ErrorStrategy.deadLetter())
 *   .build()
 * await projector.runOnce() // or projector.start() ... await projector.stop()
 */
export class Projector<Tx extends ProjectionTxControl = ProjectionTxControl> {
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
  private readonly timeouts: HandlerTimeouts
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly pollIntervalMs: number
  private readonly counters = new MetricsCounters()
  private cursor = -1
  private state: ProjectorState = 'idle'
  private exclusive: Promise<unknown> = Promise.resolve()
  private loop: { readonly abort: AbortController; readonly done: Promise<void> } | undefined
  private readonly eventByEvent: EventByEvent<Tx>
  private readonly fastBatch: FastBatch<Tx>

  /** Starts a builder: `Projector.builder(source, store).withHandler(h).build()`. */
  static builder<Tx extends ProjectionTxControl>(
    source: EventSource,
    store: ProjectionStore<Tx>,
  ): ProjectorBuilder<Tx, Projector<Tx>> {
    return new ProjectorBuilder<Tx, Projector<Tx>>({ source, store }, (options) => new Projector(options))
  }

  /** Bad options raise `CONFIG`. */
  constructor(options: ProjectorOptions<Tx>) {
    checkKnownFields('Projector', options, PROJECTOR_OPTION_FIELDS)
    if (options.source === undefined || typeof options.source.events !== 'function') {
      throw new ConfigError('Projector needs an event source', { details: { field: 'source' } })
    }
    if (options.store === undefined || typeof options.store.transaction !== 'function') {
      throw new ConfigError('Projector needs a projection store', { details: { field: 'store' } })
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
    this.timeouts = new HandlerTimeouts(options.handlerTimeoutMs, {
      name,
      clock: this.clock,
      logger: this.logger,
      counters: this.counters,
    })
    this.router = new HandlerRouter(options.handlers, options.filter)
    this.dispatcher = new EventDispatcher(this.router)
    this.breaker =
      options.circuitBreaker === undefined
        ? undefined
        : new CircuitBreaker(options.circuitBreaker, this.clock, this.logger)
    this.deadLetters = new ProjectorDeadLetters<Tx>(
      {
        name,
        store: this.store,
        dispatcher: this.dispatcher,
        clock: this.clock,
        logger: this.logger,
        counters: this.counters,
        breaker: this.breaker,
        timeouts: this.timeouts,
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
      timeouts: this.timeouts,
      firstRetryAt: () => this.deadLetters.firstRetryAt(),
      readCursor: () => this.cursor,
      advanceCursor: (id) => {
        this.cursor = id
      },
    })
    this.fastBatch = new FastBatch<Tx>({
      name,
      source: this.source,
      store: this.store,
      dispatcher: this.dispatcher,
      breaker: this.breaker,
      logger: this.logger,
      batchPolicy: this.batchPolicy,
      timeouts: this.timeouts,
      readCursor: () => this.cursor,
      advanceCursor: (id) => {
        this.cursor = id
      },
    })
  }

  /** Counters, lag and the last error. */
  metrics(): ProjectorMetrics {
    return snapshotMetrics(this.name, this.state, this.cursor, this.target(), this.counters, this.breaker)
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
      const started = performance.now()
      await this.store.transaction(async (tx) => {
        for (const h of this.router.handlers) await this.timeouts.call(h.reset!(tx), h)
        await tx.clearDeadLetters(this.name)
        await tx.setCursor(this.name, 0)
      })
      this.cursor = 0
      this.logger.info({ head: this.source.head() }, 'projection reset for rebuild')
      const stats = await this.runLocked(options)
      const { cursor, events, stoppedBy } = stats
      const durationMs = Math.round(performance.now() - started)
      this.logger.info({ cursor, events, stoppedBy, durationMs }, 'rebuild finished')
      return stats
    })
  }

  /**
   * Runs continuously until `signal` aborts: catches up, then waits for the source's commit
   * notification (or the fallback poll), and with a dead-letter queue replays due dead letters.
   * Rejects with `PROJECTION_FAILED` when the error strategy fails.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.loop !== undefined) throw new ConfigError(`projector '${this.name}' is already running`)
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

  /** Stops continuous mode after the batch in flight (a hung handler holds it `handlerTimeoutMs` at most). */
  async stop(): Promise<void> {
    const loop = this.loop
    if (loop === undefined) return
    loop.abort.abort(new ClosedError(`projector '${this.name}'`))
    await loop.done.catch(() => undefined)
  }

  private async continuous(signal: AbortSignal): Promise<void> {
    const follower = new HeadFollower(this.source, this.clock)
    const replayer = this.deadLetters.startReplayer(signal)
    this.state = 'running'
    this.logger.info({ cursor: this.cursor }, 'projector started')
    try {
      while (!signal.aborted) {
        const stats = await this.runOnce({ signal })
        if (signal.aborted) break
        if (stats.stoppedBy === 'circuitOpen' && this.breaker !== undefined) {
          await this.sleep(Math.max(1, this.breaker.remainingOpenMs()), signal)
          continue
        }
        await this.waitForEvents(follower, signal)
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
      follower.close()
      await replayer
      this.logger.info({ cursor: this.cursor, state: this.state }, 'projector stopped')
    }
  }

  /** Resolves once events are available and the batch is full or `maxLatencyMs` has passed. */
  private async waitForEvents(follower: HeadFollower, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.target() <= this.cursor) {
      await follower.wait(() => this.target() > this.cursor, this.pollIntervalMs, signal)
    }
    const { maxLatencyMs, maxEvents } = this.batchPolicy
    if (maxLatencyMs > 0 && !signal.aborted && this.target() - this.cursor < maxEvents) {
      await follower.wait(() => this.target() - this.cursor >= maxEvents, maxLatencyMs, signal)
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
        const records = this.fastBatch.read(target, permits)
        const started = performance.now()
        const before = this.cursor
        const fast = permits === Number.POSITIVE_INFINITY ? await this.fastBatch.apply(records) : SLOW
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
      this.fastBatch.release()
      if (this.loop === undefined && this.state === 'running') this.state = 'idle'
    }
    return { from, cursor: this.cursor, target, ...run, stoppedBy }
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
