import type {
  Clock,
  EventHandler,
  EventSource,
  Logger,
  ProjectionStore,
  ProjectionTxControl,
} from '@azothdb/core'
import type { BatchPolicy } from './batch-policy.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'
import type { DeadLetterQueueOptions } from './dead-letter-queue.js'
import type { ErrorStrategy } from './error-strategy.js'
import { EventProcessor, type EventProcessorOptions } from './event-processor.js'

type Mutable<T> = { -readonly [K in keyof T]?: T[K] }

/** Fluent construction of an {@link EventProcessor}; `build()` checks everything (`CONFIG`). */
export class EventProcessorBuilder<Tx extends ProjectionTxControl> {
  private readonly options: Mutable<EventProcessorOptions<Tx>>
  private readonly handlers: EventHandler<Tx>[] = []

  /** @internal use `EventProcessor.builder(source, store)`. */
  constructor(source: EventSource, store: ProjectionStore<Tx>) {
    this.options = { source, store }
  }

  /** The cursor's key in the store (default `'default'`): unique per projection. */
  withName(name: string): this {
    this.options.name = name
    return this
  }

  /** Adds a handler; several handlers may share event types (they run in the order added). */
  withHandler(handler: EventHandler<Tx>): this {
    this.handlers.push(handler)
    return this
  }

  /** What happens to a failing event (default `failFast`). */
  withErrorStrategy(strategy: ErrorStrategy): this {
    this.options.errorStrategy = strategy
    return this
  }

  /** Turns on the automatic dead-letter replayer, with its backoff and give-up limit. */
  withDeadLetterQueue(options: DeadLetterQueueOptions = {}): this {
    this.options.deadLetterQueue = options
    return this
  }

  /** Events and bytes per transaction, and the batch latency of continuous mode. */
  withBatch(policy: BatchPolicy): this {
    this.options.batch = policy
    return this
  }

  /** Pauses the projector while its handlers keep failing. */
  withCircuitBreaker(options: CircuitBreakerOptions = {}): this {
    this.options.circuitBreaker = options
    return this
  }

  /** The fallback poll of continuous mode, for writers in other processes. */
  withPollInterval(ms: number): this {
    this.options.pollIntervalMs = ms
    return this
  }

  /** The clock every wait goes through (a `ManualClock` in tests). */
  withClock(clock: Clock): this {
    this.options.clock = clock
    return this
  }

  /** Where warnings (skips, dead letters) and errors go. */
  withLogger(logger: Logger): this {
    this.options.logger = logger
    return this
  }

  /** Checks the options (`CONFIG`) and makes the processor. */
  build(): EventProcessor<Tx> {
    return new EventProcessor<Tx>({
      ...(this.options as EventProcessorOptions<Tx>),
      handlers: [...this.handlers],
    })
  }
}
