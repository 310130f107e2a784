import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type NatsRelayMetrics, startNatsRelay } from '@azothdb/relay-nats'
import { Azoth, silentLogger } from 'azothdb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { exited, spawnTypeScript } from '../../../vitest.shared.js'
import { type NatsServer, natsUnavailable, startNatsServer } from './support/nats-server.js'
import { eventually, type ReadMessage, readStream } from './support/stream-reader.js'

const CHILD = new URL('./support/relay-child.ts', import.meta.url)

/** Every event 1..head in the stream exactly once, in order, at consecutive sequences, each with its own id. */
function expectExactlyOnceInOrder(messages: readonly ReadMessage[], head: number, stream: string): void {
  const ids = messages.map((m) => Number(m.headers['Azoth-Event-Id']))
  expect(ids).toEqual(Array.from({ length: head }, (_, i) => i + 1))
  expect(messages.map((m) => m.headers['Nats-Msg-Id'])).toEqual(ids.map((id) => `${stream}:${id}`))
  const first = messages[0]?.seq ?? 1
  expect(messages.map((m) => m.seq)).toEqual(ids.map((_, i) => first + i))
}

describe.skipIf(natsUnavailable !== undefined)(
  `relay faults${natsUnavailable ? ` (skipped: ${natsUnavailable})` : ''}`,
  () => {
    let server: NatsServer
    let dir: string

    beforeAll(async () => {
      server = await startNatsServer()
    })
    afterAll(async () => {
      await server?.destroy()
    })
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true })
    })

    it('SIGKILL of the relay mid-batch, again and again: every event in JetStream once and in order', async () => {
      dir = mkdtempSync(join(tmpdir(), 'azoth-relay-kill-'))
      const target = 4000
      const kills: Array<{ at: NatsRelayMetrics }> = []
      // Each run is killed once the stream holds this many more events and publishes are in flight.
      for (const threshold of [300, 1200, 2100, 3000, Number.POSITIVE_INFINITY]) {
        const child = spawnTypeScript(CHILD, [dir, server.url, 'KILLS', 'kills', String(target)])
        let out = ''
        let err = ''
        let killedAt: NatsRelayMetrics | undefined
        child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString()
          if (killedAt !== undefined || !Number.isFinite(threshold)) return
          const lines = out.split('\n')
          const last = lines[lines.length - 2]
          if (last === undefined || !last.startsWith('{')) return
          const m = JSON.parse(last) as NatsRelayMetrics
          if (m.lastAckedId >= threshold && m.inFlight > 0) {
            killedAt = m
            child.kill('SIGKILL')
          }
        })
        await exited(child)
        if (killedAt !== undefined) kills.push({ at: killedAt })
        else expect(out, err).toContain('done')
      }
      // The kills happened mid-batch: acknowledgements were outstanding each time.
      expect(kills).toHaveLength(4)
      for (const k of kills) expect(k.at.inFlight).toBeGreaterThan(0)
      const messages = await readStream(server.url, 'KILLS')
      expectExactlyOnceInOrder(messages, target, 'KILLS')
    })

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      it(`NATS restarted (${signal}) with publishes in flight: every event in JetStream once and in order`, async () => {
        dir = mkdtempSync(join(tmpdir(), 'azoth-relay-restart-'))
        const db = await Azoth.open(dir, { logger: silentLogger, durability: 'relaxed' })
        const stream = `RESTART_${signal}`
        try {
          const relay = startNatsRelay(db, {
            servers: server.url,
            stream,
            subjectPrefix: signal.toLowerCase(),
            maxInFlight: 64,
            ackTimeoutMs: 1000,
            retryInitialDelayMs: 20,
            retryMaxDelayMs: 200,
            logger: silentLogger,
          })
          // Commits go on throughout, also while NATS is down.
          let writing = true
          const writer = (async () => {
            for (let i = 0; writing; i++) {
              await db.transaction().execute((tx) => {
                for (let k = 0; k < 10; k++) tx.log('Ticked', { i, k })
              })
              await new Promise((r) => setTimeout(r, 1))
            }
          })()
          for (const threshold of [500, 1500]) {
            await eventually(
              () => relay.metrics().lastAckedId >= threshold && relay.metrics().inFlight > 0,
              `publishes in flight past event ${threshold}`,
            )
            await server.stop(signal)
            await new Promise((r) => setTimeout(r, 300))
            await server.start()
          }
          await eventually(() => relay.metrics().lastAckedId >= 2500, 'the relay to go on after the restarts')
          writing = false
          await writer
          await eventually(() => relay.metrics().lag === 0, 'the relay to catch up')
          const m = relay.metrics()
          expect(m.reconnects + m.retries).toBeGreaterThan(0)
          await relay.stop()
          expectExactlyOnceInOrder(await readStream(server.url, stream), db.head(), stream)
        } finally {
          await db.close()
        }
      })
    }

    it('stop() finishes within its timeout while a frozen NATS holds publishes unanswered', async () => {
      dir = mkdtempSync(join(tmpdir(), 'azoth-relay-frozen-'))
      const db = await Azoth.open(dir, { logger: silentLogger, durability: 'relaxed' })
      try {
        await db.transaction().execute((tx) => {
          for (let i = 0; i < 50; i++) tx.log('Ticked', { i })
        })
        const relay = startNatsRelay(db, {
          servers: server.url,
          stream: 'FROZEN',
          subjectPrefix: 'frozen',
          maxInFlight: 16,
          ackTimeoutMs: 600_000,
          stopTimeoutMs: 300,
          logger: silentLogger,
        })
        await eventually(() => relay.metrics().lastAckedId === 50, 'the relay to catch up')
        server.pause()
        try {
          await db.transaction().execute((tx) => {
            for (let i = 0; i < 50; i++) tx.log('Ticked', { i })
          })
          await eventually(() => relay.metrics().inFlight === 16, 'a full window of unanswered publishes')
          // Bounded by stopTimeoutMs and the connection's close, never by the ack timeout (past the test's).
          await relay.stop()
          expect(relay.metrics().state).toBe('stopped')
        } finally {
          server.resume()
        }
        // What the frozen server never answered is shipped by the next relay, once.
        const next = startNatsRelay(db, {
          servers: server.url,
          stream: 'FROZEN',
          subjectPrefix: 'frozen',
          logger: silentLogger,
        })
        await eventually(() => next.metrics().lastAckedId === 100, 'the next relay to catch up')
        await next.stop()
        expectExactlyOnceInOrder(await readStream(server.url, 'FROZEN'), 100, 'FROZEN')
      } finally {
        await db.close()
      }
    })
  },
)
