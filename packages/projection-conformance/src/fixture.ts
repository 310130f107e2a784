import type { AzothEvent, EventHandler, ProjectionStore, ProjectionTxControl } from '@azothdb/core'
import { MemoryEventSource } from './memory-event-source.js'
import type { ConformanceDatabase, ProjectionStoreSubject } from './subject.js'

/** A row of the suite's table, numbers normalised (backends may return strings for integers). */
export interface Balance {
  readonly account: string
  readonly amount: number
  readonly events: number
}

/** Event `id` deposits `id` into account `a<id % 5>`; every tenth event is of a type nobody handles. */
export function appendDeposits(source: MemoryEventSource, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = source.head() + 1
    if (id % 10 === 0) source.append('Unrelated', { id })
    else source.append('Deposited', { account: `a${id % 5}`, amount: id })
  }
}

/** The rows a replay of events 1..head from scratch gives, leaving out the ids in `without`. */
export function replay(source: MemoryEventSource, without: ReadonlySet<number> = new Set()): Balance[] {
  const map = new Map<string, { amount: number; events: number }>()
  for (let id = 1; id <= source.head(); id++) {
    if (id % 10 === 0 || without.has(id)) continue
    const account = `a${id % 5}`
    const cur = map.get(account) ?? { amount: 0, events: 0 }
    map.set(account, { amount: cur.amount + id, events: cur.events + 1 })
  }
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([account, v]) => ({ account, ...v }))
}

/** The suite's table as the store's reader sees it. */
export async function readBalances<Tx extends ProjectionTxControl>(
  store: ProjectionStore<Tx>,
): Promise<Balance[]> {
  const rows = await store.query<{ account: string; amount: unknown; events: unknown }>(
    'SELECT account, amount, events FROM conformance_balances ORDER BY account',
  )
  return rows.map((r) => ({ account: r.account, amount: Number(r.amount), events: Number(r.events) }))
}

/**
 * The deposits handler: writes first, then throws for ids in `failing` (mutable, so a test can fix
 * it), so a savepoint must undo the write of a failing event.
 */
export function depositsHandler<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  failing: Set<number> = new Set(),
): EventHandler<Tx> {
  return {
    name: 'conformance-deposits',
    eventTypes: ['Deposited'],
    // Synchronous when the backend's statements are: the projector's synchronous path is tested too.
    handle(event: AzothEvent, tx: Tx): void | Promise<void> {
      const p = event.payload as { account: string; amount: number }
      const fail = (): void => {
        if (failing.has(event.id)) throw new Error(`conformance handler fails on event ${event.id}`)
      }
      const written = subject.addToBalance(tx, p.account, p.amount)
      if (written instanceof Promise) return written.then(fail)
      return fail()
    },
    reset: (tx: Tx) => subject.clearTable(tx),
  }
}

/** One test's database, the stores opened on it, and its event source; `done` closes everything. */
export interface Harness<Tx extends ProjectionTxControl> {
  readonly source: MemoryEventSource
  /** The first store, with the suite's table created. */
  readonly store: ProjectionStore<Tx>
  /** Opens another instance on the same database. */
  open(): Promise<ProjectionStore<Tx>>
  done(): Promise<void>
}

export async function harness<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
): Promise<Harness<Tx>> {
  const db: ConformanceDatabase<Tx> = await subject.createDatabase()
  const stores: ProjectionStore<Tx>[] = []
  const open = async (): Promise<ProjectionStore<Tx>> => {
    const s = await db.open()
    stores.push(s)
    return s
  }
  const store = await open()
  await store.transaction((tx) => subject.createTable(tx))
  return {
    source: new MemoryEventSource(),
    store,
    open,
    async done() {
      for (const s of stores) await s.close()
      await db.cleanup()
    },
  }
}

/** Runs `fn` with a fresh harness, always cleaning up. */
export async function withHarness<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  fn: (h: Harness<Tx>) => Promise<void>,
): Promise<void> {
  const h = await harness(subject)
  try {
    await fn(h)
  } finally {
    await h.done()
  }
}
