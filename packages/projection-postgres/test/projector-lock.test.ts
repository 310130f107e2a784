import { isAzothError } from '@azothdb/core'
import { PostgresProjectionStore } from '@azothdb/projection-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

let server: PgServer | undefined

describe.skipIf(pgUnavailable !== undefined)(
  `lockProjector${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    it('one holder per projector name across stores; release hands over to the waiter', async () => {
      const url = await server!.createDatabase()
      const a = await PostgresProjectionStore.open({ connectionString: url })
      const b = await PostgresProjectionStore.open({ connectionString: url })
      try {
        const held = await a.lockProjector('p', { checkIntervalMs: 20 })
        // Another name is independent.
        const other = await b.lockProjector('q', { checkIntervalMs: 20 })
        let got = false
        const waiting = b.lockProjector('p', { checkIntervalMs: 20 }).then((l) => {
          got = true
          return l
        })
        await new Promise((r) => setTimeout(r, 300))
        expect(got).toBe(false)
        await held.release()
        expect(held.signal.aborted).toBe(true)
        const next = await waiting
        expect(next.projector).toBe('p')
        expect(next.signal.aborted).toBe(false)
        await next.release()
        await other.release()
        await other.release()
      } finally {
        await a.close()
        await b.close()
      }
    })

    it('a waiter gives up when its signal aborts; bad arguments raise INVALID_ARGUMENT or CONFIG', async () => {
      const url = await server!.createDatabase()
      const a = await PostgresProjectionStore.open({ connectionString: url })
      try {
        const held = await a.lockProjector('p')
        const abort = new AbortController()
        const waiting = a.lockProjector('p', { signal: abort.signal, checkIntervalMs: 20 })
        setTimeout(() => abort.abort(new Error('stop waiting')), 100)
        await expect(waiting).rejects.toThrow('stop waiting')
        await expect(a.lockProjector('')).rejects.toSatisfy((e) => isAzothError(e, 'INVALID_ARGUMENT'))
        await expect(a.lockProjector('p', { checkIntervalMs: 0 })).rejects.toSatisfy((e) =>
          isAzothError(e, 'CONFIG'),
        )
        // close() ends a waiter of the closing store with CLOSED, and frees its own locks.
        const b = await PostgresProjectionStore.open({ connectionString: url })
        // (Caught at once: close() resolves after the waiter has ended and its connection closed.)
        const closedWaiter = b.lockProjector('p', { checkIntervalMs: 20 }).catch((e: unknown) => e)
        await new Promise((r) => setTimeout(r, 100))
        await b.close()
        expect(await closedWaiter).toSatisfy((e) => isAzothError(e, 'CLOSED'))
        await held.release()
      } finally {
        await a.close()
      }
    })

    it('a server restart aborts the holder signal; closing the store releases its locks', async () => {
      const url = await server!.createDatabase()
      const a = await PostgresProjectionStore.open({ connectionString: url })
      try {
        const held = await a.lockProjector('p', { checkIntervalMs: 50 })
        server!.stop('fast')
        await server!.start()
        await new Promise<void>((resolve) => {
          if (held.signal.aborted) resolve()
          held.signal.addEventListener('abort', () => resolve(), { once: true })
        })
        expect(held.signal.reason).toSatisfy((e) => isAzothError(e, 'IO'))
        const again = await a.lockProjector('p', { checkIntervalMs: 50 })
        expect(again.signal.aborted).toBe(false)
      } finally {
        await a.close()
      }
      const b = await PostgresProjectionStore.open({ connectionString: url })
      const next = await b.lockProjector('p', { checkIntervalMs: 20 })
      await next.release()
      await b.close()
    }, 60_000)
  },
)
