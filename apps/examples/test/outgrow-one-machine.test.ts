import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type PgServer,
  pgUnavailable,
  startPgServer,
} from '../../../packages/projection-postgres/test/support/pg-server.js'
import {
  type NatsServer,
  natsUnavailable,
  startNatsServer,
} from '../../../packages/relay-nats/test/support/nats-server.js'
import { runTypeScript } from '../../../vitest.shared.js'

// The example runs as `pnpm example outgrow-one-machine` would, against throwaway servers of its own.
const example = fileURLToPath(new URL('../src/examples/outgrow-one-machine.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const env = { AZOTH_LOG_LEVEL: 'warn', INIT_CWD: undefined }
const unavailable = pgUnavailable ?? natsUnavailable
const inCi = !['', '0', 'false', undefined].includes(process.env['CI'])

/** The JSON after `<prefix>` on the line of `stdout` that starts with it. */
function jsonAfter(stdout: string, prefix: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith(prefix))
  expect(line, `no line starting with '${prefix}' in:\n${stdout}`).toBeDefined()
  return JSON.parse(line!.slice(prefix.length))
}

describe('outgrow-one-machine', () => {
  it('explains which servers it needs when their URLs are missing', async () => {
    const result = await runTypeScript(example, [], {
      cwd: repoRoot,
      env: { ...env, AZOTH_PG_URL: undefined, AZOTH_NATS_URL: undefined },
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('AZOTH_PG_URL    a PostgreSQL server')
    expect(result.stderr).toContain('AZOTH_NATS_URL  a NATS server with JetStream')
    expect(result.stderr).toContain('missing: AZOTH_PG_URL, AZOTH_NATS_URL')
  })

  // In CI the servers are installed (.ci/run): a missing one fails instead of skipping.
  describe.skipIf(unavailable !== undefined && !inCi)('on real servers', () => {
    let pgServer: PgServer | undefined
    let natsServer: NatsServer | undefined
    beforeAll(async () => {
      if (unavailable !== undefined) throw new Error(`must run in CI: ${unavailable}`)
      pgServer = await startPgServer()
      natsServer = await startNatsServer()
    })
    afterAll(async () => {
      pgServer?.destroy()
      await natsServer?.destroy()
    })

    it('the readers see equal read models, the consumer every event once in order, and nothing is left behind', async () => {
      const events = 300
      const result = await runTypeScript(example, [], {
        cwd: repoRoot,
        env: {
          ...env,
          AZOTH_PG_URL: pgServer!.url,
          AZOTH_NATS_URL: natsServer!.url,
          AZOTH_EXAMPLE_EVENTS: String(events),
        },
      })
      expect(result.code, result.stderr + result.stdout).toBe(0)
      const out = result.stdout
      expect(out).toContain(`writer: committed ${events} events; the projector and the relay follow`)
      expect(out).toContain(`writer: projector at ${events}, relay acknowledged up to ${events}`)
      const reader1 = jsonAfter(out, `reader 1: balances at event ${events}: `)
      const reader2 = jsonAfter(out, `reader 2: balances at event ${events}: `)
      expect(out).toMatch(
        /^reader 1: \d+ consistent snapshots \(rows = events 1\.\.cursor\) until caught up$/m,
      )
      expect(out).toMatch(
        /^reader 2: \d+ consistent snapshots \(rows = events 1\.\.cursor\) until caught up$/m,
      )
      expect(out).toContain(`consumer: ${events} events, ids 1..${events}, each once and in order: true`)
      const folded = jsonAfter(out, 'consumer: balances folded from JetStream: ')
      // Deposit k (1..300) goes to account k-1 mod 5: the expected fold, computed independently.
      const names = ['ada', 'grace', 'linus', 'barbara', 'ken']
      const expected: Record<string, { amount: number; deposits: number }> = {}
      for (let k = 1; k <= events; k++) {
        const b = (expected[names[(k - 1) % 5]!] ??= { amount: 0, deposits: 0 })
        b.amount += k
        b.deposits++
      }
      expect(reader1).toEqual(expected)
      expect(reader2).toEqual(expected)
      expect(folded).toEqual(expected)
      expect(out.trim().split('\n').at(-1)).toBe('ok: outgrow-one-machine')

      // The example removed its PostgreSQL database and its JetStream stream.
      const pg = (await import('pg')).default
      const client = new pg.Client({ connectionString: pgServer!.url })
      await client.connect()
      const left = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'azoth_example_%'")
      await client.end()
      expect(left.rows).toEqual([])
      const { connect } = await import('@nats-io/transport-node')
      const { jetstreamManager } = await import('@nats-io/jetstream')
      const nc = await connect({ servers: natsServer!.url })
      const streams = await (await jetstreamManager(nc)).streams.names().next()
      await nc.close()
      expect(streams).toEqual([])
    })
  })
})
