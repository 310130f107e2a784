import assert from 'node:assert/strict'
import { isAzothError, type ProjectionTxControl } from '@azothdb/core'
import { readBalances, withHarness } from './fixture.js'
import type { ConformanceRunner, ProjectionStoreSubject } from './subject.js'

const deadLetter = (projector: string, eventId: number) => ({
  projector,
  eventId,
  eventType: 'Deposited',
  envelope: new Uint8Array([1, 2, 3, eventId & 0xff]),
  error: new Error(`failed ${eventId}`),
  attempts: 1,
  failedAt: 1_000 + eventId,
  nextRetryAt: 2_000 + eventId,
})

/** The store's own contract: transactions, savepoints, cursors and dead letters, without a projector. */
export function storeCases<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  { it }: ConformanceRunner,
  timeout: number,
): void {
  it(
    'a new store has no cursors and no dead letters',
    () =>
      withHarness(subject, async ({ store }) => {
        assert.equal(await store.getCursor('p'), 0)
        assert.deepEqual(await store.cursors(), {})
        assert.equal(await store.deadLetters.count(), 0)
        assert.equal(typeof store.backend, 'string')
      }),
    timeout,
  )

  it(
    'rows, cursor and dead letter of one transaction commit together',
    () =>
      withHarness(subject, async ({ store }) => {
        const result = await store.transaction(async (tx) => {
          await subject.addToBalance(tx, 'a', 5)
          await tx.setCursor('p', 7)
          await tx.addDeadLetter(deadLetter('p', 6))
          return 'ok'
        })
        assert.equal(result, 'ok')
        assert.deepEqual(await readBalances(store), [{ account: 'a', amount: 5, events: 1 }])
        assert.equal(await store.getCursor('p'), 7)
        assert.deepEqual(await store.cursors(), { p: 7 })
        const [row] = await store.deadLetters.list()
        assert.ok(row)
        assert.deepEqual(
          { ...row, id: 0, errorStack: typeof row.errorStack },
          {
            id: 0,
            projector: 'p',
            eventId: 6,
            eventType: 'Deposited',
            envelope: new Uint8Array([1, 2, 3, 6]),
            errorMessage: 'failed 6',
            errorStack: 'string',
            attempts: 1,
            firstFailedAt: 1_006,
            lastFailedAt: 1_006,
            nextRetryAt: 2_006,
            status: 'pending',
          },
        )
      }),
    timeout,
  )

  it(
    'a transaction that throws leaves no rows, cursor or dead letter, and the store stays usable',
    () =>
      withHarness(subject, async ({ store }) => {
        const boom = new Error('boom')
        await assert.rejects(
          store.transaction(async (tx) => {
            await subject.addToBalance(tx, 'a', 5)
            await tx.setCursor('p', 7)
            await tx.addDeadLetter(deadLetter('p', 6))
            throw boom
          }),
          (e) => e === boom,
        )
        assert.deepEqual(await readBalances(store), [])
        assert.equal(await store.getCursor('p'), 0)
        assert.equal(await store.deadLetters.count(), 0)
        await store.transaction((tx) => tx.setCursor('p', 1))
        assert.equal(await store.getCursor('p'), 1)
      }),
    timeout,
  )

  it(
    'a savepoint that throws undoes only its own writes; one that returns keeps them',
    () =>
      withHarness(subject, async ({ store }) => {
        await store.transaction(async (tx) => {
          await subject.addToBalance(tx, 'a', 1)
          await assert.rejects(
            async () =>
              tx.savepoint(async () => {
                await subject.addToBalance(tx, 'a', 10)
                await tx.addDeadLetter(deadLetter('p', 3))
                throw new Error('inner')
              }),
            /inner/,
          )
          await tx.savepoint(async () => {
            await subject.addToBalance(tx, 'b', 2)
            // Nested: the inner failure leaves the outer savepoint's writes.
            await assert.rejects(async () =>
              tx.savepoint(async () => {
                await subject.addToBalance(tx, 'b', 100)
                throw new Error('nested')
              }),
            )
          })
          await tx.setCursor('p', 3)
        })
        assert.deepEqual(await readBalances(store), [
          { account: 'a', amount: 1, events: 1 },
          { account: 'b', amount: 2, events: 1 },
        ])
        assert.equal(await store.deadLetters.count(), 0)
        assert.equal(await store.getCursor('p'), 3)
      }),
    timeout,
  )

  it(
    'dead letters: filters, limit, markRetry, recordAttempt, remove and the in-transaction deletes',
    () =>
      withHarness(subject, async ({ store }) => {
        await store.transaction(async (tx) => {
          for (const id of [1, 2, 3]) await tx.addDeadLetter(deadLetter('p', id))
          await tx.addDeadLetter(deadLetter('q', 9))
        })
        const dl = store.deadLetters
        assert.equal(await dl.count(), 4)
        assert.equal(await dl.count({ projector: 'p' }), 3)
        assert.deepEqual(
          (await dl.list({ projector: 'p', limit: 2 })).map((r) => r.eventId),
          [1, 2],
        )
        assert.deepEqual(
          (await dl.list({ dueBy: 2_002 })).map((r) => r.eventId),
          [1, 2],
        )
        const [first, second, third] = await dl.list({ projector: 'p' })
        assert.ok(first && second && third)
        assert.equal(await dl.markRetry(first.id, 5_000), true)
        assert.equal((await dl.get(first.id))?.nextRetryAt, 5_000)
        await dl.recordAttempt(second.id, new Error('again'), 3_000, 'permanent')
        const perm = await dl.get(second.id)
        assert.equal(perm?.status, 'permanent')
        assert.equal(perm?.attempts, 2)
        assert.equal(perm?.errorMessage, 'again')
        assert.equal(perm?.nextRetryAt, undefined)
        await dl.recordAttempt(third.id, new Error('later'), 3_000, { nextRetryAt: 4_000 })
        assert.equal((await dl.get(third.id))?.status, 'retrying')
        assert.equal(await dl.count({ status: 'permanent' }), 1)
        assert.equal(await dl.remove(first.id), true)
        assert.equal(await dl.remove(first.id), false)
        assert.equal(await dl.get(first.id), undefined)
        assert.equal(await dl.markRetry(first.id, 1), false)
        const removed = await store.transaction(async (tx) => [
          await tx.removeDeadLetter(second.id),
          await tx.removeDeadLetter(second.id),
          await tx.clearDeadLetters('p'),
        ])
        assert.deepEqual(removed, [true, false, 1])
        assert.deepEqual(
          (await dl.list()).map((r) => r.projector),
          ['q'],
        )
      }),
    timeout,
  )

  it(
    'checkIntegrity, when the backend has one, finds nothing in an intact store while it is written',
    () =>
      withHarness(subject, async ({ store }) => {
        if (store.checkIntegrity === undefined) return
        await store.transaction((tx) => subject.addToBalance(tx, 'a', 5))
        const [found] = await Promise.all([
          store.checkIntegrity(),
          store.transaction((tx) => subject.addToBalance(tx, 'b', 7)),
        ])
        assert.deepEqual(found, [])
        await store.close()
        await assert.rejects(store.checkIntegrity(), (e: unknown) => isAzothError(e, 'CLOSED'))
      }),
    timeout,
  )

  it(
    'a closed store rejects with CLOSED',
    () =>
      withHarness(subject, async ({ store }) => {
        await store.close()
        const closed = (e: unknown): boolean => isAzothError(e, 'CLOSED')
        await assert.rejects(
          store.transaction(() => undefined),
          closed,
        )
        await assert.rejects(store.getCursor('p'), closed)
        await assert.rejects(store.query('SELECT 1'), closed)
        await store.close()
      }),
    timeout,
  )
}
