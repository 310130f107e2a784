import type { AppliedMigration, MigrationHistory, Migration as StoreMigration } from '@azothdb/core'
import type { SqliteTx } from './sqlite-tx.js'

/**
 * One schema change of the SQLite projection tables: core's `Migration` over `SqliteTx`. `up` and
 * `down` run inside their own transaction with the history row in `_azoth_migrations`.
 */
export type Migration = StoreMigration<SqliteTx>

/** Where the SQLite store keeps its migration history: `_azoth_migrations`. */
export const SQLITE_MIGRATION_HISTORY: MigrationHistory<SqliteTx> = {
  // The store's writer lock already serializes migrators: one writer per file.
  read: async (tx) =>
    tx
      .all<{ version: number; name: string; applied_at: number }>(
        'SELECT version, name, applied_at FROM _azoth_migrations ORDER BY version',
      )
      .map((r): AppliedMigration => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
  record: async (tx, row) => {
    tx.run('INSERT INTO _azoth_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
      row.version,
      row.name,
      row.appliedAt,
    ])
  },
  forget: async (tx, version) => {
    tx.run('DELETE FROM _azoth_migrations WHERE version = ?', [version])
  },
}
