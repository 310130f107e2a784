import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type FileEventLog, openFileEventLog } from '../src/index.js'
import { removeDir, tempDir } from './helpers.js'

const stress = process.env['AZOTH_STRESS'] === '1'

type Op =
  | { kind: 'append'; sizes: number[]; seed: number }
  | { kind: 'sync' }
  | { kind: 'flush' }
  | { kind: 'truncateAfter'; back: number }
  | { kind: 'deleteBefore'; ahead: number }
  | { kind: 'reopen' }
  | { kind: 'get'; pick: number }
  | { kind: 'read'; from: number; span: number; limit: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      sizes: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 12 }),
      seed: fc.nat(255),
    }),
    weight: 6,
  },
  { arbitrary: fc.constant({ kind: 'sync' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'flush' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('truncateAfter' as const), back: fc.nat(40) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('deleteBefore' as const), ahead: fc.nat(60) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'reopen' as const }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('get' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      from: fc.nat(),
      span: fc.nat(80),
      limit: fc.nat(50),
    }),
    weight: 2,
  },
)

function bytes(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size)
  for (let i = 0; i < size; i++) b[i] = (seed + i * 13) & 0xff
  return b
}

describe('model-based property', () => {
  it('append / sync / truncateAfter / deleteBefore / reopen match an in-memory model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: stress ? 120 : 40 }),
        fc.integer({ min: 64, max: 1500 }),
        fc.integer({ min: 1, max: 400 }),
        async (ops, segmentBytes, indexIntervalBytes) => {
          const dir = tempDir('azoth-filelog-model-')
          const options = { segmentBytes, indexIntervalBytes, writeBufferBytes: 512, readChunkBytes: 256 }
          // The model: records[i] has id oldest + i.
          let oldest = 1
          let records: Uint8Array[] = []
          const head = () => oldest + records.length - 1
          let log: FileEventLog = await openFileEventLog(dir, options)
          const check = () => {
            expect(log.head()).toBe(head())
            expect(log.oldest()).toBe(oldest)
            expect(log.stats().events).toBe(records.length)
            const all = [...log.read()]
            expect(all.map((r) => r.id)).toEqual(records.map((_, i) => oldest + i))
            expect(all.map((r) => r.bytes)).toEqual(records)
          }
          try {
            for (const o of ops) {
              switch (o.kind) {
                case 'append': {
                  const batch = o.sizes.map((s, i) => bytes(s, o.seed + i))
                  log.append(head() + 1, batch)
                  records.push(...batch)
                  break
                }
                case 'sync':
                  await log.sync()
                  break
                case 'flush':
                  await log.flush()
                  break
                case 'truncateAfter': {
                  const id = Math.max(0, head() - o.back)
                  await log.truncateAfter(id)
                  if (id + 1 < oldest) {
                    records = []
                    oldest = id + 1
                  } else {
                    records = records.slice(0, id - oldest + 1)
                  }
                  break
                }
                case 'deleteBefore': {
                  const id = oldest + o.ahead
                  const dropped = await log.deleteBefore(id)
                  // Which segments go depends on their boundaries; the model checks the rules.
                  expect(dropped).toBeGreaterThanOrEqual(0)
                  expect(oldest + dropped).toBeLessThanOrEqual(Math.max(oldest, id))
                  expect(dropped).toBeLessThanOrEqual(records.length)
                  expect(log.head()).toBe(head())
                  expect(log.oldest()).toBe(oldest + dropped)
                  records = records.slice(dropped)
                  oldest += dropped
                  break
                }
                case 'reopen':
                  await log.close()
                  log = await openFileEventLog(dir, options)
                  expect(log.stats().recoveredBytes).toBe(0)
                  break
                case 'get': {
                  const id = records.length === 0 ? oldest : oldest + (o.pick % (records.length + 2)) - 1
                  const want = id >= oldest && id <= head() ? records[id - oldest] : undefined
                  expect(log.get(id)).toEqual(want)
                  break
                }
                case 'read': {
                  const from = oldest + (o.from % (records.length + 1))
                  const to = from + o.span
                  const got = [...log.read({ from, to, limit: o.limit })]
                  const want = records
                    .slice(from - oldest, Math.min(to, head()) - oldest + 1)
                    .slice(0, o.limit)
                  expect(got.map((r) => r.bytes)).toEqual(want)
                  if (got.length > 0) expect(got[0]!.id).toBe(from)
                  break
                }
              }
            }
            check()
            await log.close()
            log = await openFileEventLog(dir, { ...options, readOnly: true })
            check()
          } finally {
            await log.close()
            removeDir(dir)
          }
        },
      ),
      { numRuns: stress ? 500 : 40 },
    )
  }, 120_000)
})
