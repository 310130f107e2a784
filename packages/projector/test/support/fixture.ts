import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { BALANCES_DDL } from './balances.js'
import { MemoryEventSource } from './memory-event-source.js'

/** A temp dir with a projection store (balances table created) and an in-memory source. */
export interface Fixture {
  readonly dir: string
  readonly path: string
  readonly source: MemoryEventSource
  store: SqliteProjectionStore
  cleanup(): Promise<void>
}

export async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'azoth-projector-'))
  const path = join(dir, 'projection.db')
  const store = SqliteProjectionStore.open({ path })
  await store.transaction((tx) => tx.exec(BALANCES_DDL))
  const fixture: Fixture = {
    dir,
    path,
    source: new MemoryEventSource(),
    store,
    async cleanup() {
      await fixture.store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return fixture
}

/** Appends `n` deposits of amount = id to accounts a0..a4, and one event of an unknown type every 10. */
export function appendDeposits(source: MemoryEventSource, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = source.head() + 1
    if (id % 10 === 0) source.append('Unrelated', { id })
    else source.append('Deposited', { account: `a${id % 5}`, amount: id })
  }
}

/** The balances a from-scratch projection of events 1..head gives, skipping ids in `without`. */
export function expectedBalances(
  source: MemoryEventSource,
  without: ReadonlySet<number> = new Set(),
): Array<{ account: string; amount: number; events: number }> {
  const map = new Map<string, { amount: number; events: number }>()
  for (let id = 1; id <= source.head(); id++) {
    if (id % 10 === 0 || without.has(id)) continue
    const account = `a${id % 5}`
    const cur = map.get(account) ?? { amount: 0, events: 0 }
    map.set(account, { amount: cur.amount + id, events: cur.events + 1 })
  }
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([account, v]) => ({ account, ...v }))
}

export async function balances(
  store: SqliteProjectionStore,
): Promise<Array<{ account: string; amount: number; events: number }>> {
  return store.query('SELECT account, amount, events FROM balances ORDER BY account')
}
