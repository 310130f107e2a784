import { rmSync } from 'node:fs'
import { TypedValue } from '@azoth/core'
import { openLmdbStore } from '@azoth/store-lmdb'

const PAYLOAD = { from: 'acct:00000001', to: 'acct:00000002', amount: 100, memo: 'x'.repeat(40) }
async function drive(callers: number, per: number, op: (i: number) => Promise<unknown>) {
  let next = 0
  const t = performance.now()
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let k = 0; k < per; k++) await op(next++)
    }),
  )
  return Math.round((callers * per) / ((performance.now() - t) / 1000))
}
for (const mode of ['put', 'put+event', 'event-only'] as const) {
  rmSync('/tmp/lm/ours', { recursive: true, force: true })
  const store = await openLmdbStore('/tmp/lm/ours')
  const r = await drive(16, 200, (i) =>
    store.commit((tx) => {
      if (mode !== 'event-only') tx.put(`acct:${i % 1000}`, TypedValue.i64(i))
      if (mode !== 'put') tx.appendEvent('transfer', PAYLOAD)
    }),
  )
  console.log(mode, r, store.commitStats())
  await store.close()
}
