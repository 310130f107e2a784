import {
  type AnyEvents,
  AzothError,
  ConfigError,
  type DatabaseProjectionStore,
  type EventHandler,
  type EventOf,
  type EventSource,
  type Migration,
  type ProjectionBackend,
  type ProjectionTxControl,
} from '@azothdb/core'
import type { SqliteTx, SqlParams } from '@azothdb/projection-sqlite'
import {
  type DeadLetterRetryResult,
  ProjectorBuilder as ProjectorBuilderClass,
  Projector as ProjectorClass,
  type ProjectorOptions as ProjectorClassOptions,
  ProjectorGroup,
  type ProjectorMetrics,
} from '@azothdb/projector'
import type { Layout } from './database-layout.js'
import type { ResolvedAzothOptions } from './options.js'

/** A projector over a database's events and its projection (`Tx`: the projection's transaction). */
export type Projector<Tx extends ProjectionTxControl = SqliteTx> = ProjectorClass<Tx>

/**
 * A handler writing into the projection (SQLite's `SqliteTx` unless the database chose another
 * store), over the database's events (`E`, its event map: see `defineEvents`).
 */
export type SqlEventHandler<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents> = EventHandler<
  Tx,
  EventOf<E>
>

/**
 * Options of `db.projector()`: a projector's options without its source and store (the database's)
 * and with the database's clock and logger as defaults. Handlers are given once, when it is created.
 */
export type ProjectorOptions<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents> = Omit<
  ProjectorClassOptions<Tx>,
  'source' | 'store' | 'handlers'
> & {
  /** The handlers; required when the projector is created, omitted to look it up by name. */
  readonly handlers?: readonly SqlEventHandler<Tx, E>[]
}

/**
 * The projector builder bound to a database: `db.projectorBuilder()`; `build()` registers the
 * projector. Its handlers are typed by the database's event map `E`.
 */
export type ProjectorBuilder<
  Tx extends ProjectionTxControl = SqliteTx,
  E = AnyEvents,
> = ProjectorBuilderClass<Tx, Projector<Tx>, EventOf<E>>

/**
 * The projection side of a database: the store its `projection` backend opened and the group of
 * its projectors (the one registry: `close` stops them, metrics and backups walk them, dead
 * letters find theirs).
 */
export class SqlProjection<Tx extends ProjectionTxControl = ProjectionTxControl> {
  readonly store: DatabaseProjectionStore<Tx>
  /** The backend that opened `store` (the database's `projection` option). */
  readonly backend: ProjectionBackend<Tx>
  readonly group = new ProjectorGroup<Tx>()
  readonly #source: EventSource
  readonly #options: ResolvedAzothOptions

  private constructor(
    store: DatabaseProjectionStore<Tx>,
    source: EventSource,
    options: ResolvedAzothOptions,
  ) {
    this.store = store
    this.backend = options.projection
    this.#source = source
    this.#options = options
  }

  static async open(
    layout: Layout,
    source: EventSource,
    options: ResolvedAzothOptions,
    readOnly: boolean,
  ): Promise<SqlProjection> {
    const store = await options.projection.open({
      dir: layout.dir,
      readOnly,
      clock: options.clock,
      logger: options.logger,
    })
    return new SqlProjection(store, source, options)
  }

  /** Returns the projector named `options.name` (default `'default'`), creating it when handlers are given. */
  projector(options: ProjectorOptions<Tx> = {}): Projector<Tx> {
    const { handlers, ...rest } = options
    const name = options.name ?? 'default'
    const existing = this.group.find(name)
    if (existing !== undefined) {
      if (handlers !== undefined) {
        throw new ConfigError(
          `projector '${name}' already exists; handlers are given once, when it is created`,
          { details: { field: 'name', value: name } },
        )
      }
      return existing
    }
    if (handlers === undefined || handlers.length === 0) {
      throw new ConfigError(
        `projector '${name}' does not exist yet: create it with db.projector({ name, handlers })`,
        { details: { field: 'handlers' } },
      )
    }
    return this.create({ ...this.#defaults(), ...rest, handlers })
  }

  /** A builder whose `build()` creates the projector here and registers it. */
  builder<E = AnyEvents>(): ProjectorBuilder<Tx, E> {
    return new ProjectorBuilderClass<Tx, Projector<Tx>, EventOf<E>>(this.#defaults(), (options) =>
      this.create(options),
    )
  }

  /** Creates a projector over this database (`CONFIG` for bad options or a taken name) and registers it. */
  create(options: ProjectorClassOptions<Tx>): Projector<Tx> {
    const projector = new ProjectorClass<Tx>({ ...options, source: this.#source, store: this.store })
    this.group.add(projector)
    return projector
  }

  metrics(): Record<string, ProjectorMetrics> {
    const out: Record<string, ProjectorMetrics> = {}
    for (const m of this.group.metrics()) out[m.name] = m
    return out
  }

  query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.store.query<Row>(sql, params)
  }

  /** The smallest cursor of every projector ever recorded in the store (undefined when there is none). */
  async slowestCursor(): Promise<number | undefined> {
    const cursors = Object.values(await this.store.cursors())
    for (const name of this.group.names) cursors.push(await this.store.getCursor(name))
    return cursors.length === 0 ? undefined : Math.min(...cursors)
  }

  async migrate(migrations: readonly Migration<Tx>[]): Promise<number> {
    return (await this.store.migrator(migrations).up()).length
  }

  close(): Promise<void> {
    return this.store.close()
  }

  /** Re-applies a dead letter through the handlers of the projector that parked it. */
  async retryDeadLetter(id: number): Promise<DeadLetterRetryResult> {
    const row = await this.store.deadLetters.get(id)
    if (row === undefined) throw new AzothError('NOT_FOUND', `no dead letter ${id}`, { details: { id } })
    const projector = this.group.find(row.projector)
    if (projector === undefined) {
      throw new AzothError(
        'NOT_FOUND',
        `projector '${row.projector}' of dead letter ${id} is not open in this process`,
        { details: { id, projector: row.projector } },
      )
    }
    return projector.deadLetters.retry(id)
  }

  #defaults(): Pick<ProjectorClassOptions<Tx>, 'source' | 'store' | 'clock' | 'logger'> {
    return {
      source: this.#source,
      store: this.store,
      clock: this.#options.clock,
      logger: this.#options.logger,
    }
  }
}
