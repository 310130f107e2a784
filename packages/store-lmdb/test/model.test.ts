import { decodeEvent, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

type Op =
  | { kind: 'put'; key: string; value: number }
  | { kind: 'del'; key: string }
  | { kind: 'event'; n: number }
interface Tx {
  ops: Op[]
  fail: boolean
}

const key = fc.constantFrom('a', 'b', 'c', 'd', 'é', 'a/b', 'zz')
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key, value: fc.integer() }),
  fc.record({ kind: fc.constant('del' as const), key }),
  fc.record({ kind: fc.constant('event' as const), n: fc.integer() }),
)
const tx: fc.Arbitrary<Tx> = fc.record({ ops: fc.array(op, { maxLength: 6 }), fail: fc.boolean() })
// A step is a group of concurrent transactions, or a reopen of the store.
const step = fc.oneof(
  { weight: 5, arbitrary: fc.array(tx, { minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant('reopen' as const) },
)

describe('model-based property', () => {
  it('random groups of transactions, some failing, and reopens match an in-memory model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const dir = tempDir()
        let store = await openLmdbStore(dir, { durability: 'relaxed' })
        const state = new Map<string, number>()
        const events: number[] = []
        try {
          for (const s of steps) {
            if (s === 'reopen') {
              await store.close()
              store = await openLmdbStore(dir, { durability: 'relaxed' })
              continue
            }
            const results = await Promise.allSettled(
              s.map((t) =>
                store.commit((ctx) => {
                  for (const o of t.ops) {
                    if (o.kind === 'put') ctx.put(o.key, TypedValue.i64(o.value))
                    else if (o.kind === 'del') ctx.delete(o.key)
                    else ctx.appendEvent('n', o.n)
                  }
                  if (t.fail) throw new Error('rejected')
                }),
              ),
            )
            for (const [i, t] of s.entries()) {
              expect(results[i]!.status).toBe(t.fail ? 'rejected' : 'fulfilled')
              if (t.fail) continue
              for (const o of t.ops) {
                if (o.kind === 'put') state.set(o.key, o.value)
                else if (o.kind === 'del') state.delete(o.key)
                else events.push(o.n)
              }
            }
          }
          const actual = new Map([...store.scan('')].map((e) => [e.key as string, Number(e.value.asI64())]))
          expect(actual).toEqual(state)
          expect(store.head()).toBe(events.length)
          expect([...store.events()].map((r) => decodeEvent(r.id, r.bytes).payload)).toEqual(events)
        } finally {
          await store.close()
        }
      }),
      { numRuns: process.env.AZOTH_STRESS ? 300 : 40 },
    )
  }, 120_000)
})
