import {
  type EventId,
  type EventRange,
  type EventRecord,
  type EventSource,
  encodeEnvelope,
} from '@azothdb/core'
import pg from 'pg'

/**
 * `n` deterministic events in memory: event `id` deposits `id` into account `a<id % 5>`, every tenth
 * is of a type the handler ignores. A child process regenerates the same events from `n`.
 */
export function depositSource(n: number): EventSource {
  const log: Uint8Array[] = []
  for (let id = 1; id <= n; id++) {
    log.push(
      id % 10 === 0
        ? encodeEnvelope({ type: 'Unrelated', payload: { id }, timestamp: 0 })
        : encodeEnvelope({ type: 'Deposited', payload: { account: `a${id % 5}`, amount: id }, timestamp: 0 }),
    )
  }
  return {
    sealedAt: undefined,
    head: () => log.length,
    *events(range: EventRange = {}): IterableIterator<EventRecord> {
      const to = Math.min(log.length, range.to ?? log.length)
      const limit = range.limit ?? Number.POSITIVE_INFINITY
      let k = 0
      for (let id = Math.max(1, range.from ?? 1); id <= to && k < limit; id++, k++)
        yield { id, bytes: log[id - 1]! }
    },
    onCommit: () => () => undefined,
  }
}

/** The balances a replay of events 1..n from scratch gives. */
export function replayBalances(n: EventId): Array<{ account: string; amount: number; events: number }> {
  const map = new Map<string, { amount: number; events: number }>()
  for (let id = 1; id <= n; id++) {
    if (id % 10 === 0) continue
    const cur = map.get(`a${id % 5}`) ?? { amount: 0, events: 0 }
    map.set(`a${id % 5}`, { amount: cur.amount + id, events: cur.events + 1 })
  }
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([account, v]) => ({ account, ...v }))
}

/** Tables of the fault tests: balances, and one row per applied event (a second application fails). */
export const FAULT_DDL = `
CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, amount BIGINT NOT NULL, events INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS applied (event_id BIGINT PRIMARY KEY, pid INTEGER NOT NULL, seq BIGSERIAL);`

/** What the database holds after a fault test: balances, applied ids in order, and each applier's ids. */
export async function readState(url: string): Promise<{
  balances: Array<{ account: string; amount: number; events: number }>
  applied: number[]
  cursor: number
  byPid: Map<number, number[]>
}> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const balances = (
      await client.query('SELECT account, amount, events FROM balances ORDER BY account')
    ).rows.map((r: { account: string; amount: string; events: number }) => ({
      account: r.account,
      amount: Number(r.amount),
      events: r.events,
    }))
    const rows = (await client.query('SELECT event_id, pid FROM applied ORDER BY seq')).rows as Array<{
      event_id: string
      pid: number
    }>
    const byPid = new Map<number, number[]>()
    for (const r of rows) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), Number(r.event_id)])
    const cursor = (await client.query("SELECT event_id FROM _azoth_cursors WHERE projector = 'balances'"))
      .rows[0] as { event_id: string } | undefined
    return {
      balances,
      applied: rows.map((r) => Number(r.event_id)),
      cursor: Number(cursor?.event_id ?? 0),
      byPid,
    }
  } finally {
    await client.end()
  }
}
