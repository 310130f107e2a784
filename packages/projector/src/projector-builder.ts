import type {
  AzothEvent,
  Clock,
  EventFilterOptions,
  EventHandler,
  Logger,
  ProjectionTxControl,
} from '@azothdb/core'
import type { BatchPolicy } from './batch-policy.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'
import type { DeadLetterQueueOptions } from './dead-letter-queue.js'
import type { ErrorStrategy } from './error-strategy.js'
import type { ProjectorOptions } from './projector-options.js'

type Settable<T> = { -readonly [K in keyof T]?: T[K] }

/**
 * Fluent construction of a projector; `build()` hands the options to the factory it was made with,
 * which checks them (`CONFIG`). `Projector.builder(source, store)` makes one that builds a
 * `Projector`; the `azothdb` facade makes one bound to a database (`db.projectorBuilder()`), whose
 * `build()` also registers the projector with the database. `Ev`, the events the handlers see,
 * types `withHandler` and the event types of `withFilter` (a database with an event map passes its
 * `EventOf<E>`); a type only.
 */
export class ProjectorBuilder<Tx extends ProjectionTxControl, Built, Ev extends AzothEvent = AzothEvent> {
  readonly #options: Settable<ProjectorOptions<Tx>>
  readonly #handlers: EventHandler<Tx>[] = []
  readonly #create: (options: ProjectorOptions<Tx>) => Built

  /**
   * `base` holds what the builder starts with (at least a source and a store, or what `create` fills
   * in); `create` turns the finished options into the projector.
   */
  constructor(
    base: Omit<Partial<ProjectorOptions<Tx>>, 'handlers'>,
    create: (options: ProjectorOptions<Tx>) => Built,
  ) {
    this.#options = { ...base }
    this.#create = create
  }

  /** The cursor's key in the store (default `'default'`): unique per projection. */
  withName(name: string): this {
    this.#options.name = name
    return this
  }

  /** Adds a handler; several handlers may share event types (they run in the order added). */
  withHandler(handler: EventHandler<Tx, Ev>): this {
    // Handlers see the events of `Ev` only: the database's map types what it stores.
    this.#handlers.push(handler as unknown as EventHandler<Tx>)
    return this
  }

  /**
   * Hands the handlers only the events of some streams, a stream prefix (category) and/or some types
   * (`{ streams: ['cart-42'] }`, `{ streamPrefix: 'cart-' }`, `{ eventTypes: ['ItemAdded'] }`); the
   * others are never decoded and the cursor moves past them.
   */
  withFilter(filter: EventFilterOptions & { readonly eventTypes?: readonly Ev['type'][] | undefined }): this {
    this.#options.filter = filter
    return this
  }

  /** What happens to a failing event (default `failFast`). */
  withErrorStrategy(strategy: ErrorStrategy): this {
    this.#options.errorStrategy = strategy
    return this
  }

  /** Turns on the automatic dead-letter replayer, with its backoff and give-up limit. */
  withDeadLetterQueue(options: DeadLetterQueueOptions = {}): this {
    this.#options.deadLetterQueue = options
    return this
  }

  /** Events and bytes per transaction, and the batch latency of continuous mode. */
  withBatch(policy: BatchPolicy): this {
    this.#options.batch = policy
    return this
  }

  /** Pauses the projector while its handlers keep failing. */
  withCircuitBreaker(options: CircuitBreakerOptions = {}): this {
    this.#options.circuitBreaker = options
    return this
  }

  /** The fallback poll of continuous mode, for writers in other processes. */
  withPollInterval(ms: number): this {
    this.#options.pollIntervalMs = ms
    return this
  }

  /**
   * How long one asynchronous handler call may stay pending before it fails with `TIMEOUT` and meets
   * the error strategy (default 30,000 ms); synchronous handlers cannot be timed out.
   */
  withHandlerTimeout(ms: number): this {
    this.#options.handlerTimeoutMs = ms
    return this
  }

  /** The clock every wait goes through (a `ManualClock` in tests). */
  withClock(clock: Clock): this {
    this.#options.clock = clock
    return this
  }

  /** Where warnings (skips, dead letters) and errors go. */
  withLogger(logger: Logger): this {
    this.#options.logger = logger
    return this
  }

  /** Checks the options (`CONFIG`) and makes the projector. */
  build(): Built {
    return this.#create({ ...(this.#options as ProjectorOptions<Tx>), handlers: [...this.#handlers] })
  }
}
