import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNatsRelay } from '@azothdb/relay-nats'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Azoth, isAzothError, silentLogger } from 'azothdb'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, natsUnavailable, startNatsServer } from './support/nats-server.js'
import { eventIds, eventually, readStream } from './support/stream-reader.js'

const decoder = new TextDecoder()

describe.skipIf(natsUnavailable !== undefined)(
  `relay to JetStream${natsUnavailable ? ` (skipped: ${natsUnavailable})` : ''}`,
  () => {
    let server: NatsServer
    let dir: string
    let db: Azoth
    let streams = 0

    beforeAll(async () => {
      server = await startNatsServer()
    })
    afterAll(async () => {
      await server?.destroy()
    })
    afterEach(async () => {
      await db?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    // Streams of one server cannot share subjects: each test gets a stream and a prefix of its own.
    function target(): { stream: string; subjectPrefix: string } {
      streams++
      return { stream: `RELAY${streams}`, subjectPrefix: `t${streams}` }
    }

    async function openDb(): Promise<Azoth> {
      dir = mkdtempSync(join(tmpdir(), 'azoth-relay-'))
      db = await Azoth.open(dir, { logger: silentLogger, durability: 'relaxed' })
      return db
    }

    async function logEvents(from: number, to: number): Promise<void> {
      await db.transaction().execute((tx) => {
        for (let i = from; i <= to; i++) tx.log('Counted', { i })
      })
    }

    it('publishes every event once, in order, with its headers and subject; a restarted relay adds only new ones', async () => {
      await openDb()
      await db.appendToStream('order-1', [
        { type: 'OrderPlaced', data: { total: 12n }, metadata: { correlationId: 'c-1' } },
        { type: 'Order.Shipped now', data: { at: 'dock 4' } },
      ])
      await db.transaction().execute((tx) => {
        tx.log('Noted', { text: 'é' })
        tx.logBytes(new Uint8Array([1, 2, 3]), 'Blob')
      })
      await logEvents(5, 500)
      const { stream, subjectPrefix } = target()
      const relay = startNatsRelay(db, {
        servers: server.url,
        stream,
        subjectPrefix,
        logger: silentLogger,
        batchSize: 64,
      })
      expect(await relay.ready).toBe(0)
      await eventually(() => relay.metrics().lastAckedId === 500, 'the relay to catch up')
      expect(relay.metrics()).toMatchObject({ published: 500, lag: 0, inFlight: 0, state: 'running' })

      const messages = await readStream(server.url, stream)
      expect(eventIds(messages)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
      const [placed, shipped, noted, blob, counted] = messages
      expect(placed?.subject).toBe(`${subjectPrefix}.order.OrderPlaced`)
      expect(placed?.headers).toMatchObject({
        'Nats-Msg-Id': `${stream}:1`,
        'Azoth-Event-Id': '1',
        'Azoth-Event-Type': 'OrderPlaced',
        'Azoth-Stream': 'order-1',
        'Azoth-Stream-Version': '0',
        'Azoth-Source': stream,
        'Content-Type': 'application/json',
      })
      expect(JSON.parse(decodeURIComponent(placed?.headers['Azoth-Metadata'] ?? ''))).toEqual({
        correlationId: 'c-1',
      })
      expect(JSON.parse(decoder.decode(placed?.data))).toEqual({ total: '12' })
      const first = [...db.events({ from: 1, to: 1 })][0]
      expect(Number(placed?.headers['Azoth-Timestamp'])).toBe(first?.timestamp)
      // '.' and ' ' cannot stand in a subject token; the header keeps the exact type.
      expect(shipped?.subject).toBe(`${subjectPrefix}.order.Order_Shipped_now`)
      expect(decodeURIComponent(shipped?.headers['Azoth-Event-Type'] ?? '')).toBe('Order.Shipped now')
      expect(noted?.subject).toBe(`${subjectPrefix}._.Noted`)
      expect(JSON.parse(decoder.decode(noted?.data))).toEqual({ text: 'é' })
      expect(blob?.headers['Content-Type']).toBe('application/octet-stream')
      expect([...(blob?.data ?? [])]).toEqual([1, 2, 3])
      expect(JSON.parse(decoder.decode(counted?.data))).toEqual({ i: 5 })
      await relay.stop()
      expect(relay.metrics().state).toBe('stopped')

      // A new relay resumes from what the stream holds: it republishes nothing.
      await logEvents(501, 520)
      const again = startNatsRelay(db, { servers: server.url, stream, subjectPrefix, logger: silentLogger })
      expect(await again.ready).toBe(500)
      await eventually(() => again.metrics().lastAckedId === 520, 'the second relay to catch up')
      expect(again.metrics()).toMatchObject({ published: 20, duplicates: 0 })
      await logEvents(521, 530) // live, while it follows the database
      await eventually(() => again.metrics().lastAckedId === 530, 'live events')
      await again.stop()
      expect(eventIds(await readStream(server.url, stream))).toEqual(
        Array.from({ length: 530 }, (_, i) => i + 1),
      )
    })

    it('never has more than maxInFlight publishes unacknowledged, and uses the whole window', async () => {
      await openDb()
      await logEvents(1, 2000)
      const nc = await connect({ servers: server.url })
      let inFlight = 0
      let most = 0
      // JetStream publishes are requests on the connection: count those awaiting their reply.
      const counting = new Proxy(nc, {
        get(target, prop, receiver) {
          if (prop === 'request') {
            return async (...args: Parameters<NatsConnection['request']>) => {
              const subject = args[0]
              if (!subject.startsWith(`${subjectPrefix}.`)) return target.request(...args)
              most = Math.max(most, ++inFlight)
              try {
                return await target.request(...args)
              } finally {
                inFlight--
              }
            }
          }
          const value = Reflect.get(target, prop, receiver)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const { stream, subjectPrefix } = target()
      const relay = startNatsRelay(db, {
        connection: counting,
        stream,
        subjectPrefix,
        maxInFlight: 8,
        logger: silentLogger,
      })
      await eventually(() => relay.metrics().lastAckedId === 2000, 'the relay to catch up')
      await relay.stop()
      expect(most).toBe(8)
      expect(nc.isClosed()).toBe(false) // a connection of the caller's stays open
      await nc.close()
      expect(eventIds(await readStream(server.url, stream))).toHaveLength(2000)
    })

    it('a publish lost on the way never lets the events behind it overtake it', async () => {
      await openDb()
      await logEvents(1, 300)
      const nc = await connect({ servers: server.url })
      const { stream, subjectPrefix } = target()
      let dropped = 0
      // Event 100's publish never reaches the server, once; the ones behind it do.
      const lossy = new Proxy(nc, {
        get(target, prop, receiver) {
          if (prop === 'request') {
            return (...args: Parameters<NatsConnection['request']>) => {
              if (args[2]?.headers?.get('Azoth-Event-Id') === '100' && dropped++ === 0)
                return new Promise((_, reject) => setTimeout(() => reject(new Error('lost')), 50))
              return target.request(...args)
            }
          }
          const value = Reflect.get(target, prop, receiver)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const relay = startNatsRelay(db, {
        connection: lossy,
        stream,
        subjectPrefix,
        maxInFlight: 64,
        retryInitialDelayMs: 10,
        logger: silentLogger,
      })
      await eventually(() => relay.metrics().lastAckedId === 300, 'the relay to catch up')
      expect(relay.metrics().retries).toBe(1)
      await relay.stop()
      await nc.close()
      expect(dropped).toBeGreaterThan(1)
      expect(eventIds(await readStream(server.url, stream))).toEqual(
        Array.from({ length: 300 }, (_, i) => i + 1),
      )
    })

    it('refuses a stream that holds another source, or events this database does not have', async () => {
      await openDb()
      await logEvents(1, 10)
      const nc = await connect({ servers: server.url })
      const { stream, subjectPrefix } = target()
      await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] })
      await jetstream(nc).publish(`${subjectPrefix}.x.y`, 'not ours')
      const foreign = startNatsRelay(db, { connection: nc, stream, subjectPrefix, logger: silentLogger })
      await expect(foreign.ready).rejects.toMatchObject({ code: 'CONFIG' })
      await expect(foreign.done).rejects.toMatchObject({ code: 'CONFIG' })
      expect(foreign.metrics().state).toBe('failed')

      // A stream ahead of the database: another database, or one restored from an older backup.
      const { stream: ahead, subjectPrefix: aheadPrefix } = target()
      const relay = startNatsRelay(db, {
        connection: nc,
        stream: ahead,
        subjectPrefix: aheadPrefix,
        logger: silentLogger,
      })
      await eventually(() => relay.metrics().lastAckedId === 10, 'the relay to catch up')
      await relay.stop()
      await db.close()
      rmSync(dir, { recursive: true, force: true })
      await openDb()
      await logEvents(1, 5)
      const behind = startNatsRelay(db, {
        connection: nc,
        stream: ahead,
        subjectPrefix: aheadPrefix,
        logger: silentLogger,
      })
      await expect(behind.done).rejects.toMatchObject({ code: 'CORRUPTION' })

      // Same length, other events: the last message does not match the database's event.
      await logEvents(6, 10)
      const other = startNatsRelay(db, {
        connection: nc,
        stream: ahead,
        subjectPrefix: aheadPrefix,
        logger: silentLogger,
      })
      await expect(other.done).rejects.toMatchObject({ code: 'CONFIG' })
      await nc.close()
    })

    it('stops with INVALID_ARGUMENT on an event it cannot turn into a message, having shipped those before', async () => {
      await openDb()
      await logEvents(1, 3)
      await db.transaction().execute((tx) => tx.log('Mapped', new Map([['a', 1]])))
      const { stream, subjectPrefix } = target()
      const relay = startNatsRelay(db, { servers: server.url, stream, subjectPrefix, logger: silentLogger })
      await expect(relay.done).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { eventId: 4 } })
      expect(relay.metrics().lastAckedId).toBe(3)
      const bad = startNatsRelay(db, {
        servers: server.url,
        stream,
        subjectPrefix,
        logger: silentLogger,
        subject: () => 'a.*',
      })
      await expect(bad.done).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      expect(eventIds(await readStream(server.url, stream))).toEqual([1, 2, 3])
    })

    it('checks its arguments up front (CONFIG, INVALID_ARGUMENT), starting nothing', async () => {
      await openDb()
      const cases: unknown[] = [
        undefined,
        { stream: 'S' },
        { servers: server.url },
        { servers: server.url, stream: 'a.b' },
        { servers: server.url, stream: 'S', maxInFlight: 0 },
        { servers: server.url, stream: 'S', source: 'a:b' },
        { servers: server.url, stream: 'S', subject: 'azoth.x' },
        { servers: server.url, stream: 'S', batchSize: 1.5 },
        { servers: server.url, stream: 'S', retryInitialDelayMs: 10, retryMaxDelayMs: 1 },
        { servers: server.url, stream: 'S', typo: 1 },
      ]
      for (const options of cases) {
        let error: unknown
        try {
          startNatsRelay(db, options as never)
        } catch (e) {
          error = e
        }
        expect(isAzothError(error, 'CONFIG'), JSON.stringify(options)).toBe(true)
      }
      expect(() => startNatsRelay(undefined as never, { servers: server.url, stream: 'S' })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    })

    it('ends when the database closes, having shipped what was committed', async () => {
      await openDb()
      await logEvents(1, 50)
      const { stream, subjectPrefix } = target()
      const relay = startNatsRelay(db, { servers: server.url, stream, subjectPrefix, logger: silentLogger })
      await eventually(() => relay.metrics().lastAckedId === 50, 'the relay to catch up')
      expect(await server.connections()).toBe(1)
      await db.close()
      await relay.done
      expect(relay.metrics()).toMatchObject({ state: 'stopped', lastAckedId: 50 })
      // Its own connection is closed too: nothing keeps the process alive.
      await eventually(async () => (await server.connections()) === 0, 'the relay to close its connection')
      await relay.stop()
      expect(eventIds(await readStream(server.url, stream))).toHaveLength(50)
    })

    it('retries while NATS is unreachable and stop() ends it', async () => {
      await openDb()
      await logEvents(1, 3)
      const relay = startNatsRelay(db, {
        servers: 'nats://127.0.0.1:1',
        stream: 'NOWHERE',
        logger: silentLogger,
        retryInitialDelayMs: 10,
        retryMaxDelayMs: 20,
      })
      await eventually(() => relay.metrics().retries >= 3, 'retries')
      expect(relay.metrics()).toMatchObject({ state: 'retrying', lag: 3, lastError: { code: 'IO' } })
      await relay.stop()
      await relay.done
      await expect(relay.ready).rejects.toMatchObject({ code: 'CLOSED' })
      expect(relay.metrics().state).toBe('stopped')
    })
  },
)
