import { decodeEvent } from '@azothdb/core'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'

// Streams keep their latest runs in their head's open block and move them to the index 17 at a
// time. Here, long random histories against a model: appends of 1 to 3 events to a few streams,
// alone or several in one group commit, between plain events (which break runs apart), with
// reopens; every read direction and range must give the model's events, and verify() stays clean.

const STREAMS = ['s-a', 's-b', 's-c']

type Op =
  | { kind: 'group'; appends: { stream: number; count: number }[] }
  | { kind: 'plain' }
  | { kind: 'reopen' }
  | { kind: 'read'; stream: number; from: number; to: number; backward: boolean; max: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('group' as const),
      appends: fc.array(fc.record({ stream: fc.nat(2), count: fc.integer({ min: 1, max: 3 }) }), {
        minLength: 1,
        maxLength: 5,
      }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'plain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      stream: fc.nat(2),
      from: fc.nat(80),
      to: fc.nat(80),
      backward: fc.boolean(),
      max: fc.integer({ min: 1, max: 100 }),
    }),
  },
)

/** The payloads of a stream's events the model expects for a read. */
function expected(events: number[], op: Extract<Op, { kind: 'read' }>): number[] {
  if (op.backward) {
    const out: number[] = []
    for (let v = Math.min(op.from, events.length - 1); v >= op.to && out.length < op.max; v--)
      out.push(events[v]!)
    return out
  }
  return events.slice(op.from, op.to + 1).slice(0, op.max)
}

/** The payloads `readStream` yields; `visitStream` must hand out the same events with the same versions. */
function payloads(store: LmdbStore, stream: string, range: Parameters<LmdbStore['readStream']>[1]): number[] {
  const records = [...store.readStream(stream, range)]
  const visited: { id: number; version: bigint | undefined }[] = []
  store.visitStream(stream, range, (id, _bytes, header) =>
    visited.push({ id, version: header.stream?.version }),
  )
  expect(visited).toEqual(records.map((r) => ({ id: r.id, version: r.version })))
  return records.map((r) => decodeEvent(r.id, r.bytes).payload as number)
}

describe.each([
  ['the LMDB log', false],
  ['an external log', true],
])("streams' open blocks against a model (%s)", (_, external) => {
  it('reads back every range in both directions and verifies clean, across block moves and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 120 }), async (ops) => {
        const dir = tempDir()
        const log = external ? new MemoryEventLog() : undefined
        const open = () => openLmdbStore(dir, log === undefined ? {} : { eventLog: log })
        let store = await open()
        const model = STREAMS.map(() => [] as number[])
        let tag = 0
        try {
          for (const op of ops) {
            if (op.kind === 'group') {
              // Commits queued together form one group: later members see earlier ones' appends.
              await Promise.all(
                op.appends.map(({ stream, count }) => {
                  const tags = Array.from({ length: count }, () => ++tag)
                  model[stream]!.push(...tags)
                  return store.commit((tx) =>
                    tx.appendToStream(
                      STREAMS[stream]!,
                      tags.map((t) => ({ type: 'T', data: t })),
                    ),
                  )
                }),
              )
            } else if (op.kind === 'plain') {
              await store.commit((tx) => tx.appendEvent('plain', null))
            } else if (op.kind === 'reopen') {
              await store.close()
              store = await open()
            } else {
              const name = STREAMS[op.stream]!
              const range = op.backward
                ? {
                    direction: 'backward' as const,
                    from: BigInt(op.from),
                    to: BigInt(op.to),
                    maxCount: op.max,
                  }
                : { from: BigInt(op.from), to: BigInt(op.to), maxCount: op.max }
              expect(payloads(store, name, range)).toEqual(expected(model[op.stream]!, op))
            }
          }
          for (const [i, name] of STREAMS.entries()) {
            expect(payloads(store, name, {})).toEqual(model[i])
            expect(payloads(store, name, { direction: 'backward' })).toEqual([...model[i]!].reverse())
            expect(store.streamVersion(name)).toBe(
              model[i]!.length === 0 ? undefined : BigInt(model[i]!.length - 1),
            )
          }
          const report = await store.verify()
          expect(report.problems).toEqual([])
          expect(report.checked.streamEvents).toBe(tag)
        } finally {
          await store.close()
        }
      }),
      { numRuns: 30 },
    )
  }, 120_000)
})
