import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import type { Migration, Migrator } from './migrator.js'
import type { ProjectionStore, ProjectionTxControl } from './projection-store.js'

/** What a database hands its projection backend when it opens. */
export interface ProjectionOpenContext {
  /** The database's directory; a backend that keeps files (SQLite) keeps them here. */
  readonly dir: string
  /** True for a read-only open of the database: the backend must not write. */
  readonly readOnly: boolean
  /** The database's clock (cursor stamps, migration history). */
  readonly clock: Clock
  /** The database's logger. */
  readonly logger: Logger
}

/** A projection store a database can own: a {@link ProjectionStore} that also runs migrations. */
export interface DatabaseProjectionStore<Tx extends ProjectionTxControl> extends ProjectionStore<Tx> {
  /** A migrator of the store's tables for `migrations` (see {@link Migrator}). */
  migrator(migrations: readonly Migration<Tx>[]): Migrator<Tx>
}

/**
 * Where a database keeps its projections, chosen when it is opened (`Azoth.open(dir, { projection })`):
 * `sqliteProjection()` (a file beside the database, the default) or `postgresProjection({ ... })`.
 * `Tx` is the transaction projector handlers and migrations see.
 */
export interface ProjectionBackend<Tx extends ProjectionTxControl = ProjectionTxControl> {
  /** The backend's name, recorded in backup manifests (`'sqlite'`, `'postgres'`). */
  readonly backend: string
  /** Name of the copy a database backup keeps inside its directory (`'projection.db'`). */
  readonly backupFile: string
  /**
   * True when the projection lives in the database's directory and a restore brings it back with
   * the database (SQLite). False when it lives in a server the operator restores with that server's
   * own tools from the backup's copy (PostgreSQL): a restore then leaves it as it is.
   */
  readonly restoredWithDatabase: boolean
  /** Opens (creating when needed) the store of the database in `context.dir`. */
  open(context: ProjectionOpenContext): Promise<DatabaseProjectionStore<Tx>>
}
