import type { AnyEvents, Migration, ProjectionTxControl } from '@azothdb/core'
import { checkArgument, checkOption, rules } from '@azothdb/core/internal'
import type { SqliteTx, SqlParams } from '@azothdb/projection-sqlite'
import type { ProjectorGroup } from '@azothdb/projector'
import { DatabaseStreams } from './database-streams.js'
import type { Projector, ProjectorBuilder, ProjectorOptions, SqlProjection } from './sql-projection.js'
import type { WritePath } from './write-path.js'

// biome-ignore lint/suspicious/noExplicitAny: set once, for databases of every projection type.
let bind: (db: DatabaseProjections<any, any>, projection: SqlProjection, write: WritePath) => void

/**
 * The projection methods of a database: `Azoth` inherits them (see "Projections" in the README).
 * Made only by `Azoth.open`; a class of its own so the projection API is one concept in one file.
 * `Tx` is the projection's transaction (`SqliteTx` unless the `projection` option chose another);
 * `E` the database's event map (`defineEvents`), which types projector handlers' events.
 */
export class DatabaseProjections<
  Tx extends ProjectionTxControl = SqliteTx,
  E = AnyEvents,
> extends DatabaseStreams<E> {
  // Set by bindProjections in Azoth's constructor, before anyone holds the database.
  #projectionParts!: SqlProjection
  #write!: WritePath

  static {
    bind = (db, projection, write) => {
      db.#projectionParts = projection
      db.#write = write
    }
  }

  /**
   * The projector named `options.name` (default `'default'`). Pass handlers to create it; later
   * calls with the name alone return it. It runs over this database's events and projection,
   * with the database's clock and logger unless the options say otherwise.
   *
   * @example
   * const balances = db.projector({ name: 'balances', handlers: [balancesHandler] })
   * await balances.runOnce()
   */
  projector(options: ProjectorOptions<Tx, E> = {}): Projector<Tx> {
    // Projectors write their tables and cursors: not in a read-only process.
    this.#write.checkWritable()
    checkOption('projector options', options, rules.object)
    return this.#projection.projector(options as ProjectorOptions<Tx>)
  }

  /**
   * A projector builder bound to this database: `build()` creates the projector and registers it
   * here (so `close` stops it and `metrics()` lists it).
   *
   * @example
   * const projector = db
   *   .projectorBuilder()
   *   .withName('balances')
   *   .withHandler(balancesHandler)
   *   .withErrorStrategy(ErrorStrategy.deadLetter())
   *   .build()
   */
  projectorBuilder(): ProjectorBuilder<Tx, E> {
    this.#write.checkWritable()
    return this.#projection.builder<E>()
  }

  /** Every projector of this database: run, start, stop or rebuild them together or by name. */
  get projectors(): ProjectorGroup<Tx> {
    return this.#projection.group
  }

  /** The projection, with the transaction type the `projection` option gave this database. */
  get #projection(): SqlProjection<Tx> {
    return this.#projectionParts as unknown as SqlProjection<Tx>
  }

  /**
   * Runs a read-only SQL query against the projection (on a reader connection). Every failure,
   * `CLOSED` included, comes as a rejection.
   */
  async query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<Row[]> {
    this.#write.checkOpen()
    return this.#projection.query<Row>(sql, params)
  }

  /**
   * Applies pending projection migrations, each in its own transaction; returns how many ran. Every
   * failure (`CLOSED`, `READ_ONLY` included) comes as a rejection.
   */
  async migrate(migrations: readonly Migration<Tx>[]): Promise<number> {
    this.#write.checkWritable()
    checkArgument('migrations', migrations, rules.array)
    return this.#projection.migrate(migrations)
  }
}

/** @internal Connects a database's projection methods to its projection and write path (called by its constructor). */
export function bindProjections<Tx extends ProjectionTxControl, E>(
  db: DatabaseProjections<Tx, E>,
  projection: SqlProjection,
  write: WritePath,
): void {
  bind(db, projection, write)
}
