import { rmSync } from 'node:fs'
import { Azoth } from 'azothdb'

const total = Number(process.env.TOTAL ?? 1_000_000)
const dir = '/tmp/ra/reads-db'
const g = globalThis as { __RA_MODE?: string }
function payloadOf(i: number) {
  return { from: 'acct:00000001', to: 'acct:00000002', amount: i, memo: 'x'.repeat(40) }
}
rmSync(dir, { recursive: true, force: true })
const db = await Azoth.open(dir, { durability: 'relaxed' })
for (let n = 0; n < total; n += 1000) {
  const events = Array.from({ length: 1000 }, (_, k) => ({ type: 'transfer', data: payloadOf(n + k) }))
  await db.appendToStream(`acct-${(n / 1000) % 1000}`, events)
}
let sink = 0
function header(): number {
  let n = 0
  for (const e of db.events()) n += e.id + e.type.length + (e.stream?.name.length ?? 0)
  sink += n
  return total
}
function payload(): number {
  let n = 0
  for (const e of db.events()) n += e.id + e.type.length + (e.payload as { amount: number }).amount
  sink += n
  return total
}
const modes = ['worker', 'inline', 'unchecked']
const res: Record<string, number[]> = {}
const rounds = Number(process.env.ROUNDS ?? 9)
// warm up (and boot the worker)
for (const m of modes) { g.__RA_MODE = m; header(); payload() }
await new Promise((r) => setTimeout(r, 200))
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of [['header', header], ['payload', payload]] as const) {
    for (const m of r % 2 ? [...modes].reverse() : modes) {
      g.__RA_MODE = m
      const t0 = performance.now()
      const n = fn()
      const ms = performance.now() - t0
      ;(res[`${name} ${m}`] ??= []).push(n / (ms / 1000))
    }
  }
}
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]! }
const out: Record<string, number> = {}
for (const [k, v] of Object.entries(res)) { out[k] = med(v); console.log(k.padEnd(20), Math.round(med(v)).toLocaleString('en'), 'events/s  (runs:', v.map((x) => Math.round(x / 1000)).join(' '), 'k)') }
for (const name of ['header', 'payload']) {
  const u = out[`${name} unchecked`]!
  console.log(`${name}: cost worker ${((u / out[`${name} worker`]! - 1) * 100).toFixed(1)}%, inline ${((u / out[`${name} inline`]! - 1) * 100).toFixed(1)}%`)
}
console.log((globalThis as any).__RA_STATS)
await db.close()
console.log(sink > 0)
