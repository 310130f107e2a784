import type { ConformanceDatabase } from '@azothdb/projection-conformance'
import { PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import pg from 'pg'
import type { PgServer } from './pg-server.js'

/** A fresh database on `server` whose stores are `PostgresProjectionStore`s; cleanup drops it. */
export async function conformanceDatabase(server: PgServer): Promise<ConformanceDatabase<PostgresTx>> {
  const url = await server.createDatabase()
  return {
    open: () => PostgresProjectionStore.open({ connectionString: url }),
    async cleanup() {
      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      try {
        await client.query(`DROP DATABASE ${url.slice(url.lastIndexOf('/') + 1)} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** The balances table of the tests, in PostgreSQL's dialect. */
export const BALANCES_DDL =
  'CREATE TABLE IF NOT EXISTS conformance_balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL, events INTEGER NOT NULL)'

export const ADD_TO_BALANCE =
  'INSERT INTO conformance_balances (account, amount, events) VALUES ($1, $2, 1) ' +
  'ON CONFLICT (account) DO UPDATE SET amount = conformance_balances.amount + excluded.amount, ' +
  'events = conformance_balances.events + 1'
