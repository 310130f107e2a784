import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectionStoreConformance } from '@azothdb/projection-conformance'
import { SqliteProjectionStore, type SqliteTx } from '@azothdb/projection-sqlite'
import { describe, it } from 'vitest'

projectionStoreConformance<SqliteTx>(
  {
    name: 'sqlite',
    async createDatabase() {
      const dir = mkdtempSync(join(tmpdir(), 'azoth-conformance-'))
      const path = join(dir, 'projection.db')
      return {
        open: async () => SqliteProjectionStore.open({ path }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      }
    },
    createTable: (tx) =>
      tx.exec(
        'CREATE TABLE conformance_balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL, events INTEGER NOT NULL)',
      ),
    addToBalance: (tx, account, amount) => {
      tx.run(
        'INSERT INTO conformance_balances (account, amount, events) VALUES (?, ?, 1) ' +
          'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1',
        [account, amount],
      )
    },
    clearTable: (tx) => {
      tx.run('DELETE FROM conformance_balances')
    },
  },
  { describe, it },
)
