import { Azoth, type ExpectedStreamVersion, isAzothError, ManualClock } from 'azothdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

// A model of streams: each stream is the list of its events' tags, in version order.
type Model = Map<string, string[]>

const STREAMS = ['cart-1', 'cart-2', 'order-1', 'é-ü']

type ExpectedChoice = 'any' | 'no_stream' | 'stream_exists' | 'actual' | 'actual+1' | 'actual-1' | 'zero'

/** An append's idempotency key: none, one never used, or the n-th one used before (modulo). */
type KeyChoice = { kind: 'none' } | { kind: 'fresh' } | { kind: 'reuse'; n: number }

interface AppendOp {
  stream: string
  count: number
  expected: ExpectedChoice
  key: KeyChoice
}

type Op =
  | ({ kind: 'append' } & AppendOp)
  | { kind: 'burst'; appends: AppendOp[] }
  | { kind: 'tick'; ms: number }
  | {
      kind: 'read'
      stream: string
      from: bigint | undefined
      to: bigint | undefined
      maxCount: number | undefined
      backward: boolean
    }
  | { kind: 'reopen' }

const appendArb = fc.record({
  stream: fc.constantFrom(...STREAMS),
  count: fc.integer({ min: 1, max: 3 }),
  expected: fc.constantFrom<ExpectedChoice>(
    'any',
    'no_stream',
    'stream_exists',
    'actual',
    'actual',
    'actual+1',
    'actual-1',
    'zero',
  ),
  key: fc.oneof(
    { weight: 2, arbitrary: fc.constant<KeyChoice>({ kind: 'none' }) },
    { weight: 2, arbitrary: fc.constant<KeyChoice>({ kind: 'fresh' }) },
    { weight: 3, arbitrary: fc.nat(20).map((n): KeyChoice => ({ kind: 'reuse', n })) },
  ),
})

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: appendArb.map((a) => ({ kind: 'append' as const, ...a })) },
  {
    weight: 2,
    arbitrary: fc
      .array(appendArb, { minLength: 2, maxLength: 6 })
      .map((appends) => ({ kind: 'burst' as const, appends })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      stream: fc.constantFrom(...STREAMS),
      from: fc.option(fc.bigInt({ min: 0n, max: 8n }), { nil: undefined }),
      to: fc.option(fc.bigInt({ min: 0n, max: 8n }), { nil: undefined }),
      maxCount: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      backward: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ kind: 'tick' as const, ms })) },
)

/** The window of the database under test: small, so that both bounds are reached. */
const WINDOW = { maxKeys: 4, maxAgeMs: 50 }

/** The model of idempotency keys: what each stored key did, in the order they were stored. */
class KeyModel {
  readonly #stored = new Map<string, { seq: number; at: number; stream: string; version: bigint }>()
  #nextSeq = 0
  readonly used: string[] = []

  /** The first append of `key` when it is still in the window at `now`. */
  live(key: string, now: number): { stream: string; version: bigint } | undefined {
    const s = this.#stored.get(key)
    if (s === undefined || this.#nextSeq - s.seq > WINDOW.maxKeys || now - s.at > WINDOW.maxAgeMs)
      return undefined
    return s
  }

  store(key: string, now: number, stream: string, version: bigint): void {
    this.#stored.set(key, { seq: this.#nextSeq++, at: now, stream, version })
  }
}

function lastVersion(model: Model, stream: string): bigint | undefined {
  const events = model.get(stream)
  return events === undefined ? undefined : BigInt(events.length - 1)
}

function resolveExpected(choice: ExpectedChoice, actual: bigint | undefined): ExpectedStreamVersion {
  switch (choice) {
    case 'actual':
      return actual ?? 'no_stream'
    case 'actual+1':
      return (actual ?? -1n) + 1n
    case 'actual-1':
      return actual === undefined || actual === 0n ? 'no_stream' : actual - 1n
    case 'zero':
      return 0n
    default:
      return choice
  }
}

function matches(expected: ExpectedStreamVersion, actual: bigint | undefined): boolean {
  if (expected === 'any') return true
  if (expected === 'no_stream') return actual === undefined
  if (expected === 'stream_exists') return actual !== undefined
  return expected === actual
}

/** Applies an append to the model; returns whether it should succeed. */
function modelAppend(model: Model, stream: string, tags: string[], expected: ExpectedStreamVersion): boolean {
  if (!matches(expected, lastVersion(model, stream))) return false
  model.set(stream, [...(model.get(stream) ?? []), ...tags])
  return true
}

function expectedRead(model: Model, op: Extract<Op, { kind: 'read' }>): string[] {
  const all = model.get(op.stream) ?? []
  const indexed = all.map((tag, v) => ({ tag, v: BigInt(v) }))
  let picked = op.backward
    ? indexed.filter(
        ({ v }) => (op.from === undefined || v <= op.from) && (op.to === undefined || v >= op.to),
      )
    : indexed.filter(
        ({ v }) => (op.from === undefined || v >= op.from) && (op.to === undefined || v <= op.to),
      )
  if (op.backward) picked = picked.reverse()
  if (op.maxCount !== undefined) picked = picked.slice(0, op.maxCount)
  return picked.map((p) => p.tag)
}

const plain = (key: KeyChoice, expected: ExpectedChoice = 'any'): AppendOp => ({
  stream: 'cart-1',
  count: 1,
  expected,
  key,
})
const fresh: KeyChoice = { kind: 'fresh' }

/**
 * Found by this test: a key stored by an earlier member of the same group counts for the window
 * of a key looked up after it (the lookup of the fourth key back must see the group's k9).
 */
const KEY_COUNTED_IN_GROUP: Op[] = [
  { kind: 'burst', appends: [plain(fresh), plain(fresh), plain(fresh), plain(fresh)] },
  { kind: 'burst', appends: [plain(fresh), plain(fresh)] },
  { kind: 'burst', appends: [plain(fresh), plain(fresh, 'actual')] },
  { kind: 'burst', appends: [plain(fresh), plain({ kind: 'reuse', n: 0 }, 'zero')] },
  { kind: 'burst', appends: [plain(fresh), plain({ kind: 'none' }), plain({ kind: 'reuse', n: 14 })] },
]

/** Found by this test: keys stored after a reopen are numbered after those stored before it. */
const KEYS_NUMBERED_AFTER_REOPEN: Op[] = [
  { kind: 'burst', appends: [plain(fresh), plain({ kind: 'none' }), plain(fresh)] },
  { kind: 'reopen' },
  { kind: 'burst', appends: [plain(fresh), plain(fresh), plain({ kind: 'reuse', n: 0 }), plain(fresh)] },
  { kind: 'burst', appends: [plain({ kind: 'reuse', n: 0 }), plain({ kind: 'none' })] },
]

describe.each(['lmdb', 'file'] as const)('streams against a model (eventLog %s)', (eventLog) => {
  it('random appends, bursts in one group, idempotency keys, reads, reopens and time agree with the model', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dir = tempDir()
        const model: Model = new Map()
        const keys = new KeyModel()
        const clock = new ManualClock(1_000)
        const options = { eventLog, clock, idempotency: WINDOW }
        let tagNo = 0
        const tags = (n: number) => Array.from({ length: n }, () => `t${run}-${tagNo++}`)
        const keyOf = (choice: KeyChoice): string | undefined => {
          if (choice.kind === 'none') return undefined
          if (choice.kind === 'reuse' && keys.used.length > 0) return keys.used[choice.n % keys.used.length]
          keys.used.push(`req-${run}-${keys.used.length}`)
          return keys.used.at(-1)
        }
        let db = await Azoth.open(dir, options)
        try {
          for (const op of ops) {
            if (op.kind === 'reopen') {
              await db.close()
              db = await Azoth.open(dir, options)
            } else if (op.kind === 'tick') {
              clock.advance(op.ms)
            } else if (op.kind === 'read') {
              const read = await db.readStream(op.stream, {
                ...(op.from === undefined ? {} : { from: op.from }),
                ...(op.to === undefined ? {} : { to: op.to }),
                ...(op.maxCount === undefined ? {} : { maxCount: op.maxCount }),
                direction: op.backward ? 'backward' : 'forward',
              })
              expect(read.events.map((e) => (e.payload as { tag: string }).tag)).toEqual(
                expectedRead(model, op),
              )
              expect(read.currentStreamVersion).toBe(lastVersion(model, op.stream))
            } else {
              const appends = op.kind === 'append' ? [op] : op.appends
              // Issued in one tick: they share a group commit, where earlier members decide later ones.
              // Expected versions are resolved against the model before any of them runs.
              const planned = appends.map((a) => ({
                a,
                tags: tags(a.count),
                expected: resolveExpected(a.expected, lastVersion(model, a.stream)),
                key: keyOf(a.key),
              }))
              const outcomes = await Promise.allSettled(
                planned.map((p) =>
                  db.appendToStream(
                    p.a.stream,
                    p.tags.map((tag) => ({ type: 'Tagged', data: { tag } })),
                    {
                      expectedStreamVersion: p.expected,
                      ...(p.key === undefined ? {} : { idempotencyKey: p.key }),
                    },
                  ),
                ),
              )
              planned.forEach((p, i) => {
                const outcome = outcomes[i]!
                const first = p.key === undefined ? undefined : keys.live(p.key, clock.now())
                if (first !== undefined) {
                  // A retry: the first append's result, nothing appended; on another stream, refused.
                  if (first.stream === p.a.stream) {
                    expect(outcome.status).toBe('fulfilled')
                    if (outcome.status === 'fulfilled') {
                      expect(outcome.value.duplicate).toBe(true)
                      expect(outcome.value.nextExpectedStreamVersion).toBe(first.version)
                    }
                  } else {
                    expect(outcome.status).toBe('rejected')
                    if (outcome.status === 'rejected')
                      expect(isAzothError(outcome.reason, 'INVALID_ARGUMENT')).toBe(true)
                  }
                  return
                }
                const ok = modelAppend(model, p.a.stream, p.tags, p.expected)
                if (ok) {
                  const version = lastVersion(model, p.a.stream)!
                  if (p.key !== undefined) keys.store(p.key, clock.now(), p.a.stream, version)
                  expect(outcome.status).toBe('fulfilled')
                  if (outcome.status === 'fulfilled') {
                    expect(outcome.value.nextExpectedStreamVersion).toBe(version)
                    expect(outcome.value.duplicate).toBe(false)
                  }
                } else {
                  expect(outcome.status).toBe('rejected')
                  if (outcome.status === 'rejected')
                    expect(isAzothError(outcome.reason, 'CONFLICT')).toBe(true)
                }
              })
            }
          }
          // Finally: every stream whole, the listing right, and the global log agreeing with the index.
          for (const stream of STREAMS) {
            const read = await db.readStream(stream)
            expect(read.events.map((e) => (e.payload as { tag: string }).tag)).toEqual(
              model.get(stream) ?? [],
            )
          }
          expect([...db.streams()].map((s) => [s.name, s.version])).toEqual(
            [...model.keys()]
              .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
              .map((name) => [name, lastVersion(model, name)]),
          )
          const fromLog = new Map<string, string[]>()
          for (const e of db.events()) {
            const list = fromLog.get(e.stream!.name) ?? []
            expect(e.stream!.version).toBe(BigInt(list.length))
            list.push((e.payload as { tag: string }).tag)
            fromLog.set(e.stream!.name, list)
          }
          expect(fromLog).toEqual(model)
        } finally {
          await db.close()
          run++
        }
      }),
      { numRuns: 25, examples: [[KEY_COUNTED_IN_GROUP], [KEYS_NUMBERED_AFTER_REOPEN]] },
    )
  }, 120_000)
})
