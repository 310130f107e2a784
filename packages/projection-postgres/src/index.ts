export {
  type AppliedMigration,
  type Migration,
  type MigrationHistory,
  type MigrationTarget,
  Migrator,
} from '@azothdb/core'
export { PostgresDeadLetterStore } from './dead-letter-table.js'
export { type PostgresProjectionOptions, postgresProjection } from './postgres-projection.js'
export { PostgresProjectionStore, type PostgresProjectionStoreOptions } from './postgres-projection-store.js'
export { type PgParams, type PgRow, PostgresTx } from './postgres-tx.js'
export type { ProjectorLock, ProjectorLockOptions } from './projector-lock.js'
export { SYSTEM_PREFIX } from './system-tables.js'
