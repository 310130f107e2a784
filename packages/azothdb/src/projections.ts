import {
  AzothError,
  ConfigError,
  type DeadLetter,
  type EventHandler,
  type EventSource,
  type Logger,
} from '@azothdb/core'
import {
  type Migration,
  SqliteProjectionStore,
  type SqliteTx,
  type SqlParams,
} from '@azothdb/projection-sqlite'
import {
  type BatchPolicy,
  type CircuitBreakerOptions,
  type DeadLetterQueueOptions,
  type DeadLetterRetryResult,
  type ErrorStrategy,
  EventProcessor,
  type ProjectorMetrics,
} from '@azothdb/projector'
import type { Layout } from './database-layout.js'
import type { ResolvedAzothOptions } from './options.js'

/** A projector over this database's events and SQLite projection. */
export type Projector = EventProcessor<SqliteTx>

/** A handler writing into the SQLite projection. */
export type SqlEventHandler = EventHandler<SqliteTx>

/** Options of `db.projector()`. */
export interface ProjectorOptions {
  /** Default `'default'`. Each name has its own cursor. */
  readonly name?: string
  /** The handlers; required when the projector is created. */
  readonly handlers?: readonly SqlEventHandler[]
  /** What to do with an event a handler fails on (default `failFast`). */
  readonly errorStrategy?: ErrorStrategy
  /** Replayer options of the dead-letter queue. */
  readonly deadLetterQueue?: DeadLetterQueueOptions
  /** Batch limits: events, bytes and latency per SQLite transaction. */
  readonly batch?: BatchPolicy
  /** Pauses the projector while its handlers keep failing. */
  readonly circuitBreaker?: CircuitBreakerOptions
  /** Fallback poll interval across processes (commits in this process wake projectors at once). */
  readonly pollIntervalMs?: number
}

/** The projection side of a database: the SQLite store and its projectors. */
export class Projections {
  private readonly processors = new Map<string, Projector>()

  private constructor(
    readonly store: SqliteProjectionStore,
    private readonly source: EventSource,
    private readonly options: ResolvedAzothOptions,
    private readonly logger: Logger,
  ) {}

  static open(
    layout: Layout,
    source: EventSource,
    options: ResolvedAzothOptions,
    readOnly: boolean,
  ): Projections {
    const store = SqliteProjectionStore.open({
      path: layout.projection,
      clock: options.clock,
      logger: options.logger,
      readOnly,
    })
    return new Projections(store, source, options, options.logger)
  }

  /** Returns the projector named `options.name` (default `'default'`), creating it when handlers are given. */
  projector(options: ProjectorOptions = {}): Projector {
    const name = options.name ?? 'default'
    const existing = this.processors.get(name)
    if (existing) {
      if (options.handlers !== undefined) {
        throw new ConfigError(
          `projector '${name}' already exists; handlers are given once, when it is created`,
          {
            details: { field: 'name', value: name },
          },
        )
      }
      return existing
    }
    if (options.handlers === undefined || options.handlers.length === 0) {
      throw new ConfigError(
        `projector '${name}' does not exist yet: create it with db.projector({ name, handlers })`,
        {
          details: { field: 'handlers' },
        },
      )
    }
    const processor = new EventProcessor<SqliteTx>({
      source: this.source,
      store: this.store,
      name,
      handlers: options.handlers,
      clock: this.options.clock,
      logger: this.logger,
      ...(options.errorStrategy ? { errorStrategy: options.errorStrategy } : {}),
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
      ...(options.batch ? { batch: options.batch } : {}),
      ...(options.circuitBreaker ? { circuitBreaker: options.circuitBreaker } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    })
    this.register(processor)
    return processor
  }

  /** Tracks a projector built elsewhere (the builder), so close stops it and metrics list it. */
  register(processor: Projector): void {
    if (this.processors.has(processor.name)) {
      throw new ConfigError(`a projector named '${processor.name}' already exists`, {
        details: { field: 'name', value: processor.name },
      })
    }
    this.processors.set(processor.name, processor)
  }

  get all(): readonly Projector[] {
    return [...this.processors.values()]
  }

  metrics(): Record<string, ProjectorMetrics> {
    const out: Record<string, ProjectorMetrics> = {}
    for (const [name, p] of this.processors) out[name] = p.metrics()
    return out
  }

  query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.store.query<Row>(sql, params)
  }

  /** The smallest cursor of every projector ever recorded in the store (0 when there is none). */
  async slowestCursor(): Promise<number | undefined> {
    const cursors = Object.values(await this.store.cursors())
    for (const p of this.processors.values()) cursors.push(await this.store.getCursor(p.name))
    return cursors.length === 0 ? undefined : Math.min(...cursors)
  }

  async migrate(migrations: readonly Migration[]): Promise<number> {
    return (await this.store.migrator(migrations).up()).length
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.processors.values()].map((p) => p.stop()))
  }

  close(): Promise<void> {
    return this.store.close()
  }

  /** Re-applies a dead letter through the handlers of the projector that parked it. */
  async retryDeadLetter(id: number): Promise<DeadLetterRetryResult> {
    const row = await this.store.deadLetters.get(id)
    if (row === undefined) throw new AzothError('NOT_FOUND', `no dead letter ${id}`, { details: { id } })
    const processor = this.processors.get(row.projector)
    if (processor === undefined) {
      throw new AzothError(
        'NOT_FOUND',
        `projector '${row.projector}' of dead letter ${id} is not open in this process`,
        {
          details: { id, projector: row.projector },
        },
      )
    }
    return processor.deadLetters.retry(id)
  }
}

/**
 * Every projector's dead letters in this database.
 *
 * @example
 * for (const row of await db.deadLetters.list(100)) console.log(row.eventId, row.errorMessage)
 * await db.deadLetters.retry(row.id) // after fixing the handler
 */
export class DeadLetters {
  /** @internal the database makes the one instance: `db.deadLetters`. */
  constructor(
    private readonly projections: Projections,
    private readonly now: () => number,
  ) {}

  /** Up to `limit` rows (default 100), oldest first; or filter with a query. */
  list(
    limit: number | { projector?: string; status?: DeadLetter['status']; limit?: number } = 100,
  ): Promise<DeadLetter[]> {
    const query = typeof limit === 'number' ? { limit } : limit
    return this.projections.store.deadLetters.list(query)
  }

  /** One row by id. */
  get(id: number): Promise<DeadLetter | undefined> {
    return this.projections.store.deadLetters.get(id)
  }

  /** How many rows, optionally of one projector or status. */
  count(query: { projector?: string; status?: DeadLetter['status'] } = {}): Promise<number> {
    return this.projections.store.deadLetters.count(query)
  }

  /** Re-applies the event now through its projector's handlers; on success the row is removed. */
  retry(id: number): Promise<DeadLetterRetryResult> {
    return this.projections.retryDeadLetter(id)
  }

  /** Makes the row due for the automatic replayer right away. */
  markRetry(id: number): Promise<boolean> {
    return this.projections.store.deadLetters.markRetry(id, this.now())
  }

  /** Deletes a row; false when there was none. */
  remove(id: number): Promise<boolean> {
    return this.projections.store.deadLetters.remove(id)
  }
}
