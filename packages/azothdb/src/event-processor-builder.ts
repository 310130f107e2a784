import { AzothError } from '@azothdb/core'
import type {
  BatchPolicy,
  CircuitBreakerOptions,
  DeadLetterQueueOptions,
  ErrorStrategy,
} from '@azothdb/projector'
import type { Azoth } from './azoth.js'
import { DeadLetters, type Projector, type ProjectorOptions, type SqlEventHandler } from './projections.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Builds a projector over a database, in the seed's shape.
 *
 * @example
 * const projector = EventProcessor.builder(db)
 *   .withName('balances')
 *   .withHandler(balancesHandler)
 *   .withErrorStrategy(ErrorStrategy.deadLetter())
 *   .withDeadLetterQueue(db.deadLetters)
 *   .build()
 * await projector.runOnce()
 */
export class AzothEventProcessorBuilder {
  private readonly options: Mutable<ProjectorOptions> = {}
  private readonly handlers: SqlEventHandler[] = []

  constructor(private readonly db: Azoth) {}

  /** Names the projector (default `'default'`); each name keeps its own cursor. */
  withName(name: string): this {
    this.options.name = name
    return this
  }

  /** Adds a handler; events go to every handler whose `eventTypes` match. */
  withHandler(handler: SqlEventHandler): this {
    this.handlers.push(handler)
    return this
  }

  /** What to do with an event a handler fails on (default `failFast`). */
  withErrorStrategy(strategy: ErrorStrategy): this {
    this.options.errorStrategy = strategy
    return this
  }

  /** Parks failing events in the dead-letter queue: `db.deadLetters`, or replayer options. */
  withDeadLetterQueue(queue: DeadLetters | DeadLetterQueueOptions = {}): this {
    if (queue instanceof DeadLetters && queue !== this.db.deadLetters) {
      throw new AzothError('INVALID_ARGUMENT', "a projector's dead letters live in its own database's queue")
    }
    this.options.deadLetterQueue = queue instanceof DeadLetters ? {} : queue
    return this
  }

  /** Batch limits: events, bytes and latency per SQLite transaction. */
  withBatch(policy: BatchPolicy): this {
    this.options.batch = policy
    return this
  }

  /** Pauses the projector while its handlers keep failing (e.g. on an external dependency). */
  withCircuitBreaker(options: CircuitBreakerOptions = {}): this {
    this.options.circuitBreaker = options
    return this
  }

  /** Fallback poll interval for commits made by other processes. */
  withPollInterval(ms: number): this {
    this.options.pollIntervalMs = ms
    return this
  }

  /** Creates the projector (registered with the database: `close` stops it). */
  build(): Projector {
    return this.db.projector({ ...this.options, handlers: this.handlers })
  }
}

/** Starts a projector builder: `EventProcessor.builder(db)`. */
export const EventProcessor = {
  /** A builder for a projector over `db`. */
  builder(db: Azoth): AzothEventProcessorBuilder {
    return new AzothEventProcessorBuilder(db)
  },
} as const

/** A projector, as `EventProcessor.builder(db).build()` returns it. */
export type EventProcessor = Projector
