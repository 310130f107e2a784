import assert from 'node:assert/strict'
import type { ProjectionStore, ProjectionTxControl } from '@azothdb/core'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { appendDeposits, depositsHandler, readBalances, replay, withHarness } from './fixture.js'
import type { MemoryEventSource } from './memory-event-source.js'
import type { ConformanceRunner, ProjectionStoreSubject } from './subject.js'

const NAME = 'conformance'

function projector<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  source: MemoryEventSource,
  store: ProjectionStore<Tx>,
  failing?: Set<number>,
): Projector<Tx> {
  return Projector.builder(source, store)
    .withName(NAME)
    .withHandler(depositsHandler(subject, failing))
    .withErrorStrategy(ErrorStrategy.deadLetter())
    .withBatch({ maxEvents: 17 })
    .build()
}

/** The store driven by `@azothdb/projector`, as applications use it. */
export function projectorCases<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  { it }: ConformanceRunner,
  timeout: number,
): void {
  it(
    'the projector applies every event once and its cursor moves with the rows',
    () =>
      withHarness(subject, async ({ source, store }) => {
        appendDeposits(source, 203)
        const p = projector(subject, source, store)
        const stats = await p.runOnce()
        assert.equal(stats.cursor, 203)
        assert.deepEqual(await readBalances(store), replay(source))
        assert.equal(await store.getCursor(NAME), 203)
        appendDeposits(source, 40)
        await p.runOnce()
        assert.deepEqual(await readBalances(store), replay(source))
        assert.equal(await store.getCursor(NAME), 243)
      }),
    timeout,
  )

  it(
    'failing events get a savepoint each: the others land, each failing one is one dead letter',
    () =>
      withHarness(subject, async ({ source, store }) => {
        appendDeposits(source, 120)
        const failing = new Set([3, 18, 19, 77])
        const stats = await projector(subject, source, store, failing).runOnce()
        assert.equal(stats.deadLettered, 4)
        assert.deepEqual(await readBalances(store), replay(source, failing))
        assert.equal(await store.getCursor(NAME), 120)
        const rows = await store.deadLetters.list({ projector: NAME })
        assert.deepEqual(
          rows.map((r) => r.eventId),
          [3, 18, 19, 77],
        )
        for (const r of rows) {
          assert.deepEqual(r.envelope, source.bytes(r.eventId))
          assert.equal(r.eventType, 'Deposited')
          assert.match(r.errorMessage, /conformance handler fails/)
        }
      }),
    timeout,
  )

  it(
    'a retried dead letter applies its event once and its row goes in the same transaction',
    () =>
      withHarness(subject, async ({ source, store }) => {
        appendDeposits(source, 30)
        const failing = new Set([7])
        const p = projector(subject, source, store, failing)
        await p.runOnce()
        const [row] = await store.deadLetters.list()
        assert.ok(row)
        failing.clear()
        assert.deepEqual(await p.deadLetters.retry(row.id), { applied: true })
        assert.equal(await store.deadLetters.count(), 0)
        assert.deepEqual(await readBalances(store), replay(source))
        await assert.rejects(p.deadLetters.retry(row.id))
        assert.deepEqual(await readBalances(store), replay(source))
      }),
    timeout,
  )

  it(
    'two projector instances of one name on two store instances never apply an event twice',
    () =>
      withHarness(subject, async ({ source, store, open }) => {
        const other = await open()
        const a = projector(subject, source, store)
        const b = projector(subject, source, other)
        for (let round = 0; round < 6; round++) {
          appendDeposits(source, 45)
          await Promise.all([a.runOnce(), b.runOnce()])
        }
        await Promise.all([a.runOnce(), b.runOnce()])
        assert.deepEqual(await readBalances(store), replay(source))
        assert.equal(await store.getCursor(NAME), source.head())
        assert.equal(await other.getCursor(NAME), source.head())
      }),
    timeout,
  )

  it(
    'rebuild empties the tables and dead letters and replays from scratch',
    () =>
      withHarness(subject, async ({ source, store }) => {
        appendDeposits(source, 90)
        const failing = new Set([11, 42])
        const p = projector(subject, source, store, failing)
        await p.runOnce()
        assert.equal(await store.deadLetters.count({ projector: NAME }), 2)
        failing.clear()
        const stats = await p.rebuild()
        assert.equal(stats.from, 0)
        assert.equal(stats.cursor, 90)
        assert.deepEqual(await readBalances(store), replay(source))
        assert.equal(await store.deadLetters.count(), 0)
        assert.equal(await store.getCursor(NAME), 90)
      }),
    timeout,
  )
}
