import type { ChildProcess } from 'node:child_process'
import type { AzothEvent, EventHandler } from '@azothdb/core'
import { PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import { Projector } from '@azothdb/projector'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exited, spawnTypeScript } from '../../../vitest.shared.js'
import { depositSource, FAULT_DDL, readState, replayBalances } from './support/deposits.js'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

const CHILD = new URL('./support/projector-child.ts', import.meta.url)
const TOTAL = 3_000
const DEPOSITS = TOTAL - TOTAL / 10

let server: PgServer | undefined

/** Starts the child; resolves once it printed `line`. */
function child(
  url: string,
  mode: 'run' | 'locked',
  maxEvents = 20,
  gateFrom?: number,
): ChildProcess & { out: () => string } {
  const gate = gateFrom === undefined ? [] : [String(gateFrom)]
  const c = spawnTypeScript(CHILD, [url, String(TOTAL), String(maxEvents), mode, ...gate], {
    stdio: [gateFrom === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  c.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  c.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  return Object.assign(c, { out: () => `${out}${err}` })
}

async function waitFor(
  what: () => boolean | Promise<boolean>,
  timeoutMs: number,
  label: string,
): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await what())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Rows equal a replay from scratch, each deposit applied once, cursor at the head. */
async function expectReplayed(url: string): Promise<Awaited<ReturnType<typeof readState>>> {
  const state = await readState(url)
  expect(state.cursor).toBe(TOTAL)
  expect(state.balances).toEqual(replayBalances(TOTAL))
  expect(state.applied.length).toBe(DEPOSITS)
  expect(new Set(state.applied).size).toBe(DEPOSITS)
  return state
}

describe.skipIf(pgUnavailable !== undefined)(
  `PostgreSQL faults${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    it('a projector SIGKILLed mid-batch, again and again, leaves rows equal to a replay', async () => {
      const url = await server!.createDatabase()
      let kills = 0
      for (let i = 0; i < 6; i++) {
        const c = child(url, 'run')
        // Kill once it has committed something, at a different moment each round.
        await waitFor(
          async () => c.exitCode !== null || ((await readState(url).catch(() => undefined))?.cursor ?? 0) > 0,
          30_000,
          'progress',
        )
        await new Promise((r) => setTimeout(r, 15 * i))
        if (c.kill('SIGKILL')) kills++
        await exited(c)
      }
      expect(kills).toBeGreaterThan(0)
      const before = await readState(url)
      expect(before.cursor).toBeLessThan(TOTAL)
      const last = child(url, 'run')
      await exited(last)
      expect(last.exitCode, last.out()).toBe(0)
      await expectReplayed(url)
    }, 180_000)

    it('PostgreSQL restarted (crash stop) mid-batch: the projector fails with IO, resumes, and rows equal a replay', async () => {
      const url = await server!.createDatabase()
      const store = await PostgresProjectionStore.open({ connectionString: url })
      await store.transaction((tx) => tx.exec(FAULT_DDL))
      const handler: EventHandler<PostgresTx> = {
        eventTypes: ['Deposited'],
        async handle(event: AzothEvent, tx: PostgresTx) {
          const p = event.payload as { account: string; amount: number }
          await tx.run('INSERT INTO applied (event_id, pid) VALUES ($1, $2)', [event.id, process.pid])
          await tx.run(
            'INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1) ON CONFLICT (account) DO UPDATE ' +
              'SET amount = balances.amount + excluded.amount, events = balances.events + 1',
            [p.account, p.amount],
          )
        },
      }
      const projector = Projector.builder(depositSource(TOTAL), store)
        .withName('balances')
        .withHandler(handler)
        .withBatch({ maxEvents: 20 })
        .build()
      const errors: string[] = []
      let restarted = false
      const running = (async () => {
        while (projector.position < TOTAL) {
          try {
            await projector.runOnce()
          } catch (e) {
            errors.push((e as { code?: string }).code ?? String(e))
            await new Promise((r) => setTimeout(r, 50))
          }
        }
      })()
      await waitFor(() => projector.position > 200, 30_000, 'progress')
      server!.stop('immediate')
      restarted = true
      await new Promise((r) => setTimeout(r, 300))
      await server!.start()
      await running
      await store.close()
      expect(restarted).toBe(true)
      expect(errors.length).toBeGreaterThan(0)
      expect(new Set(errors)).toEqual(new Set(['IO']))
      await expectReplayed(url)
    }, 180_000)

    it('the standby takes over within seconds when the active projector is SIGKILLed; never both apply', async () => {
      const url = await server!.createDatabase()
      // Past event 300 the active instance applies an event per token the test sends: it is still
      // mid-run when the standby is ready, however fast the machine.
      const active = child(url, 'locked', 10, 300)
      await waitFor(() => active.out().includes('locked'), 30_000, 'the active instance to lock')
      await waitFor(
        async () => ((await readState(url).catch(() => undefined))?.cursor ?? 0) > 100,
        30_000,
        'progress',
      )
      const standby = child(url, 'locked', 10)
      await waitFor(() => standby.out().includes('waiting'), 30_000, 'the standby to wait')
      // The standby must not get the lock while the active one lives.
      await new Promise((r) => setTimeout(r, 500))
      expect(standby.out()).not.toContain('locked')
      // Let it into a batch (15 events: the second batch of 10 is open), then kill it there.
      active.stdin!.write('g'.repeat(15))
      await waitFor(
        async () => ((await readState(url).catch(() => undefined))?.cursor ?? 0) >= 310,
        30_000,
        'the released batch',
      )
      const killedAt = Date.now()
      active.kill('SIGKILL')
      await exited(active)
      await waitFor(() => standby.out().includes('locked'), 10_000, 'the standby to take over')
      const takeoverMs = Date.now() - killedAt
      await exited(standby)
      expect(standby.exitCode, standby.out()).toBe(0)
      const state = await expectReplayed(url)
      // Who applied what: the active instance a prefix, the standby the rest, no interleaving.
      const a = state.byPid.get(active.pid!) ?? []
      const b = state.byPid.get(standby.pid!) ?? []
      expect(a.length).toBeGreaterThan(0)
      expect(b.length).toBeGreaterThan(0)
      expect(a.length + b.length).toBe(DEPOSITS)
      expect(Math.max(...a)).toBeLessThan(Math.min(...b))
      expect(takeoverMs).toBeLessThan(10_000)
    }, 180_000)
  },
)
