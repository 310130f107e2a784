import { join } from 'node:path'
import type { ProjectionBackend } from '@azothdb/core'
import { checkKnownFields } from '@azothdb/core/internal'
import { SqliteProjectionStore } from './sqlite-projection-store.js'
import type { SqliteTx } from './sqlite-tx.js'
import type { SqliteProjectionStoreOptions } from './store-options.js'

/** Options of {@link sqliteProjection}: the store's tuning; the database chooses path, clock and logger. */
export type SqliteProjectionOptions = Pick<
  SqliteProjectionStoreOptions,
  'synchronous' | 'readers' | 'busyTimeoutMs' | 'statementCacheSize'
>

const KNOWN = ['synchronous', 'readers', 'busyTimeoutMs', 'statementCacheSize']

/** The file a database keeps its SQLite projection in, inside its directory (and inside a backup's). */
export const SQLITE_PROJECTION_FILE = 'projection.db'

/**
 * A database's projections in SQLite: `projection.db` in the database's directory, backed up and
 * restored with it. The default of `Azoth.open`; pass it to tune the store. A bad option raises
 * `CONFIG` here or when the database opens, before anything is written.
 *
 * @example
 * const db = await Azoth.open('./data', { projection: sqliteProjection({ readers: 4 }) })
 */
export function sqliteProjection(options: SqliteProjectionOptions = {}): ProjectionBackend<SqliteTx> {
  checkKnownFields('sqliteProjection', options, KNOWN)
  const tuning = { ...options }
  return {
    backend: 'sqlite',
    backupFile: SQLITE_PROJECTION_FILE,
    restoredWithDatabase: true,
    open: async ({ dir, readOnly, clock, logger }) =>
      SqliteProjectionStore.open({
        ...tuning,
        path: join(dir, SQLITE_PROJECTION_FILE),
        readOnly,
        clock,
        logger,
      }),
  }
}
