import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProjectionStore } from '@azothdb/core'
import { type ProjectionStoreSubject, projectionStoreConformance } from '@azothdb/projection-conformance'
import { SqliteProjectionStore, type SqliteTx } from '@azothdb/projection-sqlite'
import { describe, expect, it } from 'vitest'

/** The SQLite store, with `wrap` applied to every store the suite opens. */
function subject(
  wrap: (store: SqliteProjectionStore) => ProjectionStore<SqliteTx>,
): ProjectionStoreSubject<SqliteTx> {
  return {
    name: 'faulty sqlite',
    async createDatabase() {
      const dir = mkdtempSync(join(tmpdir(), 'azoth-conformance-faulty-'))
      return {
        open: async () => wrap(SqliteProjectionStore.open({ path: join(dir, 'projection.db') })),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      }
    },
    createTable: (tx) =>
      tx.exec('CREATE TABLE conformance_balances (account TEXT PRIMARY KEY, amount INTEGER, events INTEGER)'),
    addToBalance: (tx, account, amount) => {
      tx.run(
        'INSERT INTO conformance_balances VALUES (?, ?, 1) ON CONFLICT (account) DO UPDATE ' +
          'SET amount = amount + excluded.amount, events = events + 1',
        [account, amount],
      )
    },
    clearTable: (tx) => {
      tx.run('DELETE FROM conformance_balances')
    },
  }
}

/**
 * Runs the suite with a collecting runner; returns the titles of the tests that failed (a test that
 * does not finish within 10 s, as a broken store can make a projector loop, counts as failed).
 */
async function failures(s: ProjectionStoreSubject<SqliteTx>): Promise<string[]> {
  const tests: Array<{ name: string; fn: () => Promise<void> }> = []
  projectionStoreConformance(s, { describe: (_name, fn) => fn(), it: (name, fn) => tests.push({ name, fn }) })
  const failed: string[] = []
  for (const t of tests) {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), 10_000)
    })
    await Promise.race([t.fn(), timeout])
      .catch(() => failed.push(t.name))
      .finally(() => clearTimeout(timer))
  }
  return failed
}

/** Delegates everything to `store`, with `overrides` on top. */
function wrapped(
  store: SqliteProjectionStore,
  overrides: Partial<ProjectionStore<SqliteTx>>,
): ProjectionStore<SqliteTx> {
  return {
    backend: store.backend,
    deadLetters: store.deadLetters,
    getCursor: (p) => store.getCursor(p),
    cursors: () => store.cursors(),
    transaction: (fn) => store.transaction(fn),
    query: (sql, params) => store.query(sql, params),
    backup: (t) => store.backup(t),
    close: () => store.close(),
    ...overrides,
  }
}

describe('the conformance suite catches broken stores', { timeout: 180_000 }, () => {
  it('passes the SQLite store as it is', async () => {
    expect(await failures(subject((s) => s))).toEqual([])
  })

  it('fails a store whose savepoints roll nothing back', async () => {
    const noRollback = subject((store) =>
      wrapped(store, {
        transaction: (fn) =>
          store.transaction((tx) =>
            fn(Object.assign(Object.create(tx) as SqliteTx, { savepoint: (f: () => unknown) => f() })),
          ),
      }),
    )
    expect(await failures(noRollback)).toEqual(
      expect.arrayContaining([
        'a savepoint that throws undoes only its own writes; one that returns keeps them',
        'failing events get a savepoint each: the others land, each failing one is one dead letter',
      ]),
    )
  })

  it('fails a store that commits what a throwing transaction wrote', async () => {
    const commitsOnThrow = subject((store) =>
      wrapped(store, {
        transaction: async (fn) => {
          let error: unknown
          const result = await store.transaction(async (tx) => {
            try {
              return await fn(tx)
            } catch (e) {
              error = e
              return undefined as never
            }
          })
          if (error !== undefined) throw error
          return result
        },
      }),
    )
    expect(await failures(commitsOnThrow)).toContain(
      'a transaction that throws leaves no rows, cursor or dead letter, and the store stays usable',
    )
  })

  it('fails a store whose transaction cursor is read outside the transaction (stale under concurrency)', async () => {
    // Every transaction reads the cursor as it was when the transaction was asked for, not as the
    // transaction sees it: two instances then both apply the same batch.
    const stale = subject((store) =>
      wrapped(store, {
        transaction: async (fn) => {
          const cursors = await store.cursors()
          await new Promise((r) => setTimeout(r, 5))
          return store.transaction((tx) =>
            fn(Object.assign(Object.create(tx) as SqliteTx, { getCursor: (p: string) => cursors[p] ?? 0 })),
          )
        },
      }),
    )
    expect(await failures(stale)).toContain(
      'two projector instances of one name on two store instances never apply an event twice',
    )
  })
})
