import {
  decodeEvent,
  type ExpectedStreamVersion,
  isAzothError,
  type StreamAppendOutcome,
  type WriteContext,
} from '@azothdb/core'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'

// Transactions that append to several streams, queued together so that they share group commits,
// against a model. The writer keeps what an append planned (its stream's name and committed head)
// between checking its expected version and recording it, and carries each transaction's appends
// and the group's tips from member to member: here members that append to one stream several times
// or to several streams, fail after some appends (a thrown error, a CONFLICT), catch a CONFLICT and
// go on, are idempotent duplicates, or encode data whose getter tries to append (refused) — and
// every member after them must still see exactly the successful members' appends.

const STREAMS = ['s-a', 's-b', 's-c']

/** `actual`: the version the model says the stream is at when the member runs; `stale`: before the group. */
type Expected = 'any' | 'no_stream' | 'stream_exists' | 'actual' | 'actual+1' | 'stale'

interface AppendSpec {
  stream: number
  count: number
  expected: Expected
  /** The first event's data has a getter that tries to append to another stream (and is refused). */
  reentrant: boolean
}

interface TxSpec {
  appends: AppendSpec[]
  /** Throw after this many appends (none: return normally). */
  throwAfter: number | undefined
  /** A CONFLICT of one append is caught and the transaction goes on. */
  catchConflicts: boolean
  /** An idempotency key: none, one never used, or the n-th used before (modulo). */
  key: { kind: 'none' } | { kind: 'fresh' } | { kind: 'reuse'; n: number }
}

type Op = { kind: 'group'; txs: TxSpec[] } | { kind: 'plain' } | { kind: 'reopen' }

const appendArb: fc.Arbitrary<AppendSpec> = fc.record({
  stream: fc.nat(STREAMS.length - 1),
  count: fc.integer({ min: 1, max: 3 }),
  expected: fc.constantFrom<Expected>(
    'any',
    'no_stream',
    'stream_exists',
    'actual',
    'actual',
    'actual',
    'actual+1',
    'stale',
  ),
  reentrant: fc.boolean(),
})

const txArb: fc.Arbitrary<TxSpec> = fc
  .record({
    appends: fc.array(appendArb, { minLength: 1, maxLength: 4 }),
    throwAfter: fc.option(fc.nat(4), { nil: undefined, freq: 4 }),
    catchConflicts: fc.boolean(),
    key: fc.oneof(
      { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'fresh' as const }) },
      { weight: 2, arbitrary: fc.nat(30).map((n) => ({ kind: 'reuse' as const, n })) },
    ),
  })
  .map((tx) => ({
    ...tx,
    throwAfter: tx.throwAfter === undefined ? undefined : Math.min(tx.throwAfter, tx.appends.length),
  }))

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(txArb, { minLength: 1, maxLength: 6 })
      .map((txs) => ({ kind: 'group' as const, txs })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'plain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

type Model = number[][]

const versionOf = (events: readonly number[]): bigint | undefined =>
  events.length === 0 ? undefined : BigInt(events.length - 1)

function matches(expected: ExpectedStreamVersion, actual: bigint | undefined): boolean {
  if (expected === 'any') return true
  if (expected === 'no_stream') return actual === undefined
  if (expected === 'stream_exists') return actual !== undefined
  return expected === actual
}

function resolve(
  choice: Expected,
  now: bigint | undefined,
  before: bigint | undefined,
): ExpectedStreamVersion {
  if (choice === 'actual') return now ?? 'no_stream'
  if (choice === 'actual+1') return (now ?? -1n) + 1n
  if (choice === 'stale') return before ?? 'no_stream'
  return choice
}

/** One member as planned against the model: its appends' expected versions, tags and what it should do. */
interface Planned {
  spec: TxSpec
  key: string | undefined
  appends: { stream: number; expected: ExpectedStreamVersion; tags: number[] }[]
  /** The outcomes it returns when it runs to the end; `undefined` for an append whose CONFLICT it caught. */
  outcomes: (StreamAppendOutcome | undefined)[]
  /** 'ok', 'CONFLICT', 'thrown', or 'duplicate' (of the key's first commit). */
  result: 'ok' | 'CONFLICT' | 'thrown' | 'duplicate'
}

/** The member's function, doing what `p` says. */
function memberFn(p: Planned) {
  return (tx: WriteContext) => {
    const out: (StreamAppendOutcome | undefined)[] = []
    for (const [i, a] of p.appends.entries()) {
      if (p.spec.throwAfter === i) throw new Error('after some appends')
      const events = a.tags.map((tag, k) =>
        k === 0 && p.spec.appends[i]!.reentrant
          ? {
              type: 'T',
              data: {
                tag,
                get probe() {
                  let code = 'accepted'
                  try {
                    tx.appendToStream(STREAMS[(a.stream + 1) % STREAMS.length]!, [{ type: 'T', data: -1 }])
                  } catch (e) {
                    code = isAzothError(e) ? e.code : String(e)
                  }
                  return code
                },
              },
            }
          : { type: 'T', data: { tag, probe: 'INVALID_ARGUMENT' } },
      )
      try {
        out.push(tx.appendToStream(STREAMS[a.stream]!, events, a.expected))
      } catch (e) {
        if (!(p.spec.catchConflicts && isAzothError(e, 'CONFLICT'))) throw e
        out.push(undefined)
      }
    }
    if (p.spec.throwAfter === p.appends.length) throw new Error('after all appends')
    return out
  }
}

describe.each([
  ['the LMDB log', false],
  ['an external log', true],
])('transactions appending to several streams against a model (%s)', (_, external) => {
  it('every member sees exactly the earlier successful members; reads, heads and verify() agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const dir = tempDir()
        const log = external ? new MemoryEventLog() : undefined
        const open = () => openLmdbStore(dir, log === undefined ? {} : { eventLog: log })
        let store: LmdbStore = await open()
        const model: Model = STREAMS.map(() => [])
        const firsts = new Map<string, (StreamAppendOutcome | undefined)[]>()
        const keys: string[] = []
        let tag = 0
        let events = 0
        try {
          for (const op of ops) {
            if (op.kind === 'plain') {
              await store.commit((tx) => tx.appendEvent('plain', null))
              events++
              continue
            }
            if (op.kind === 'reopen') {
              await store.close()
              store = await open()
              continue
            }
            const before = model.map(versionOf)
            const planned: Planned[] = op.txs.map((spec) => {
              let key: string | undefined
              if (spec.key.kind === 'fresh' || (spec.key.kind === 'reuse' && keys.length === 0)) {
                key = `k${keys.length}`
                keys.push(key)
              } else if (spec.key.kind === 'reuse') key = keys[spec.key.n % keys.length]
              // The member runs against the model as the earlier members left it, plus its own appends.
              const own = model.map((s) => [...s])
              const appends: Planned['appends'] = []
              const outcomes: Planned['outcomes'] = []
              let result: Planned['result'] = 'ok'
              for (const [i, a] of spec.appends.entries()) {
                const expected = resolve(a.expected, versionOf(own[a.stream]!), before[a.stream])
                const tags = Array.from({ length: a.count }, () => ++tag)
                appends.push({ stream: a.stream, expected, tags })
                if (result !== 'ok' || (spec.throwAfter !== undefined && spec.throwAfter <= i)) continue
                const actual = versionOf(own[a.stream]!)
                if (!matches(expected, actual)) {
                  if (spec.catchConflicts) outcomes.push(undefined)
                  else result = 'CONFLICT'
                  continue
                }
                own[a.stream]!.push(...tags)
                outcomes.push({
                  nextExpectedStreamVersion: versionOf(own[a.stream]!)!,
                  createdNewStream: actual === undefined,
                })
              }
              if (result === 'ok' && spec.throwAfter !== undefined) result = 'thrown'
              if (key !== undefined && firsts.has(key)) {
                result = 'duplicate'
                return { spec, key, appends, outcomes: firsts.get(key)!, result }
              }
              if (result === 'ok') {
                for (const [s, list] of own.entries()) {
                  events += list.length - model[s]!.length
                  model[s] = list
                }
                if (key !== undefined) firsts.set(key, outcomes)
              }
              return { spec, key, appends, outcomes, result }
            })
            const settled = await Promise.allSettled(
              planned.map((p) =>
                store.commit(memberFn(p), p.key === undefined ? undefined : { idempotencyKey: p.key }),
              ),
            )
            for (const [i, p] of planned.entries()) {
              const s = settled[i]!
              if (p.result === 'ok' || p.result === 'duplicate') {
                expect(s.status, `member ${i}: ${String((s as PromiseRejectedResult).reason)}`).toBe(
                  'fulfilled',
                )
                const value = (s as PromiseFulfilledResult<{ result: unknown; duplicate: boolean }>).value
                expect(value.duplicate).toBe(p.result === 'duplicate')
                expect(value.result).toEqual(p.outcomes)
              } else {
                expect(s.status).toBe('rejected')
                const reason = (s as PromiseRejectedResult).reason
                if (p.result === 'CONFLICT') expect(isAzothError(reason, 'CONFLICT')).toBe(true)
                else expect(reason).toBeInstanceOf(Error)
              }
            }
          }
          for (const [i, name] of STREAMS.entries()) {
            const records = [...store.readStream(name)]
            const decoded = records.map((r) => decodeEvent(r.id, r.bytes))
            expect(decoded.map((e) => (e.payload as { tag: number }).tag)).toEqual(model[i])
            // A reentrant append was refused in every getter that tried one.
            expect(decoded.every((e) => (e.payload as { probe: string }).probe === 'INVALID_ARGUMENT')).toBe(
              true,
            )
            expect(records.map((r) => r.version)).toEqual(model[i]!.map((_, v) => BigInt(v)))
            expect(store.streamVersion(name)).toBe(versionOf(model[i]!))
          }
          expect(store.head()).toBe(events)
          const report = await store.verify()
          expect(report.problems).toEqual([])
        } finally {
          await store.close()
        }
      }),
      { numRuns: 40 },
    )
  }, 120_000)
})
