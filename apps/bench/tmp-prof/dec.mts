import { join } from 'node:path'
import { decodeCbor, decodeEvent } from '@azoth/core'
import { openLmdbStore } from '@azoth/store-lmdb'

const canonical = await openLmdbStore(join('/tmp/prof/proj', 'c'), { durability: 'relaxed' })
const N = 200_000
for (let r = 0; r < 5; r++) {
  let t0 = performance.now()
  let s = 0
  for (const rec of canonical.events()) s += rec.bytes.length
  const it = performance.now() - t0
  t0 = performance.now()
  for (const rec of canonical.events()) {
    const e = decodeEvent(rec.id, rec.bytes)
    s += (e.payload as { amount: number }).amount
  }
  const dec = performance.now() - t0
  console.log('iterate', ((it * 1e6) / N).toFixed(0), 'iterate+decodeEvent', ((dec * 1e6) / N).toFixed(0))
}
const rec = canonical.events().next().value!
console.log(rec.bytes.length, Buffer.from(rec.bytes).toString('hex'))
await canonical.close()
