import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeEnvelope, type EventRecord, type EventSource } from '@azothdb/core'
import { SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { Projector } from '@azothdb/projector'

const N = 300_000
const log: Uint8Array[] = []
for (let i = 0; i < N; i++) {
  log.push(encodeEnvelope({ type: i % 10 === 0 ? 'Other' : 'Deposited', payload: { account: `a${i % 5}`, amount: i }, timestamp: 0, stream: { name: `acct-${i % 5}`, version: BigInt(i) } }))
}
const source: EventSource = {
  head: () => log.length,
  sealedAt: undefined,
  *events(range = {}) {
    const from = range.from ?? 1
    const to = Math.min(range.to ?? log.length, log.length)
    const limit = range.limit ?? Infinity
    let n = 0
    for (let id = from; id <= to && n < limit; id++, n++) yield { id, bytes: log[id - 1]! } as EventRecord
  },
  onCommit: () => () => {},
} as unknown as EventSource
const results: number[] = []
for (let round = 0; round < 9; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'pbench-'))
  const store = SqliteProjectionStore.open({ path: join(dir, 'p.db') })
  let sum = 0
  const p = new Projector({ source, store, name: 'b', handlers: [{ eventTypes: ['Deposited'], handle: (e) => { sum += (e.payload as { amount: number }).amount } }], batch: { maxEvents: 1000 } })
  const t = performance.now()
  await p.runOnce()
  results.push(performance.now() - t)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  if (sum === 0) throw new Error('nothing')
}
results.sort((a, b) => a - b)
console.log(`${process.argv[2] ?? ''} min ${results[0]!.toFixed(0)} median ${(results[4]!).toFixed(0)} ms for ${N} events (${((N / results[4]!) * 1000 / 1e6).toFixed(2)} M ev/s); all ${results.map((r) => r.toFixed(0)).join(' ')}`)
