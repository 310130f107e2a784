import type { ProjectionBackend } from '@azothdb/core'
import { checkKnownFields } from '@azothdb/core/internal'
import { PostgresProjectionStore, type PostgresProjectionStoreOptions } from './postgres-projection-store.js'
import type { PostgresTx } from './postgres-tx.js'

/** Options of {@link postgresProjection}: the store's options; the database gives clock and logger. */
export type PostgresProjectionOptions = Omit<PostgresProjectionStoreOptions, 'clock' | 'logger'>

/**
 * A database's projections in a PostgreSQL database, so many application servers can query the
 * read models while one process owns the write side. A database backup keeps a `pg_dump` of it
 * (`projection.pgdump`, custom format, with the cursors in the manifest); a restore of the
 * database leaves PostgreSQL as it is: restore the dump with `pg_restore`, or rebuild the
 * projectors. A read-only open of the database still connects (the server is another process).
 *
 * @example
 * const db = await Azoth.open('./data', {
 *   projection: postgresProjection({ connectionString: 'postgres://app@db.internal/readmodels' }),
 * })
 */
export function postgresProjection(options: PostgresProjectionOptions): ProjectionBackend<PostgresTx> {
  checkKnownFields('postgresProjection', options, [
    'connectionString',
    'readers',
    'connectTimeoutMs',
    'queryTimeoutMs',
    'pgDumpPath',
  ])
  const config = { ...options }
  return {
    backend: 'postgres',
    backupFile: 'projection.pgdump',
    restoredWithDatabase: false,
    open: ({ clock, logger }) => PostgresProjectionStore.open({ ...config, clock, logger }),
  }
}
