import { projectionStoreConformance } from '@azothdb/projection-conformance'
import type { PostgresTx } from '@azothdb/projection-postgres'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { ADD_TO_BALANCE, BALANCES_DDL, conformanceDatabase } from './support/pg-database.js'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

let server: PgServer | undefined

describe.skipIf(pgUnavailable !== undefined)(
  `PostgreSQL${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    projectionStoreConformance<PostgresTx>(
      {
        name: 'postgres',
        createDatabase: () => conformanceDatabase(server!),
        createTable: (tx) => tx.exec(BALANCES_DDL),
        addToBalance: async (tx, account, amount) => {
          await tx.run(ADD_TO_BALANCE, [account, amount])
        },
        clearTable: async (tx) => {
          await tx.run('DELETE FROM conformance_balances')
        },
      },
      { describe, it },
    )
  },
)
