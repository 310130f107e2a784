export { type AppliedMigration, Migrator } from '@azothdb/core'
export { SqliteDeadLetterStore } from './dead-letter-table.js'
export type { SealCheck } from './file-seal.js'
export type { Migration } from './migrations.js'
export { restoreSqliteProjection } from './restore.js'
export { loadSqlMigrations } from './sql-migrations.js'
export { removeSqliteFiles } from './sqlite-files.js'
export {
  SQLITE_PROJECTION_FILE,
  type SqliteProjectionOptions,
  sqliteProjection,
} from './sqlite-projection.js'
export { SqliteProjectionStore } from './sqlite-projection-store.js'
export type { SqliteTx, SqlParams, SqlRow, SqlRunResult, SqlStatement } from './sqlite-tx.js'
export type { SqliteProjectionStoreOptions, SqliteSynchronous } from './store-options.js'
export { SYSTEM_PREFIX } from './system-prefix.js'
