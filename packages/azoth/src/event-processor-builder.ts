import { AzothError } from '@azoth/core'
import type {
  BatchPolicy,
  CircuitBreakerOptions,
  DeadLetterQueueOptions,
  ErrorStrategy,
} from '@azoth/projector'
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

  withName(name: string): this {
    this.options.name = name
    return this
  }

  withHandler(handler: SqlEventHandler): this {
    this.handlers.push(handler)
    return this
  }

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

  withBatch(policy: BatchPolicy): this {
    this.options.batch = policy
    return this
  }

  withCircuitBreaker(options: CircuitBreakerOptions = {}): this {
    this.options.circuitBreaker = options
    return this
  }

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
  builder(db: Azoth): AzothEventProcessorBuilder {
    return new AzothEventProcessorBuilder(db)
  },
} as const

/** A projector, as `EventProcessor.builder(db).build()` returns it. */
export type EventProcessor = Projector
