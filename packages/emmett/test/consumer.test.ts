import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type AzothProcessorHandlerContext,
  type AzothReadEventMetadata,
  azothCheckpointer,
  getAzothEventStore,
} from '@azothdb/emmett'
import { projection, projector, reactor } from '@event-driven-io/emmett'
import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import {
  added,
  type ItemAdded,
  positions,
  recordingLogger,
  type Seen,
  untilFeedOpen,
  untilSeen,
  upTo,
} from './support/consumer-support.js'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

// Waits are for events to arrive on a loaded machine: a generous ceiling, never a threshold to meet.
describe.each(['lmdb', 'file'] as const)(
  'eventStore.consumer() (eventLog %s)',
  { timeout: 30_000 },
  (eventLog) => {
    it('a reactor sees every stream event once, as readStream gives it, across stop/start and a reopen', async () => {
      const dir = tempDir()
      const seen: Seen[] = []
      {
        await using db = await Azoth.open(dir, { eventLog })
        const store = getAzothEventStore(db)
        await store.appendToStream('cart-1', [added('a'), added('b')])
        await db.transaction().execute((tx) => tx.log('NotInAStream')) // id 3: no Emmett form, skipped
        await store.appendToStream('cart-2', [{ ...added('c', 3), metadata: { messageId: 'm-1', by: 'u1' } }])
        const consumer = store.consumer()
        consumer.reactor<ItemAdded>({ processorId: 'mailer', eachMessage: (m) => void seen.push(m) })
        const run = consumer.start()
        expect(consumer.start()).toBe(run) // a second start is the same run
        await untilSeen(seen, 3)
        await consumer.stop()
        await run
        expect(consumer.isRunning).toBe(false)
        const read = [
          ...(await store.readStream('cart-1')).events,
          ...(await store.readStream('cart-2')).events,
        ]
        expect(seen).toEqual(read)

        await store.appendToStream('cart-1', [added('d')]) // 5, while stopped
        void consumer.start()
        await store.appendToStream('cart-3', [added('e')]) // 6, while running
        await untilSeen(seen, 5)
        await consumer.close()
      }
      {
        await using db = await Azoth.open(dir, { eventLog })
        const store = getAzothEventStore(db)
        await store.appendToStream('cart-2', [added('f')]) // 7
        const consumer = store.consumer()
        consumer.reactor<ItemAdded>({ processorId: 'mailer', eachMessage: (m) => void seen.push(m) })
        void consumer.start()
        await untilSeen(seen, 6)
        await consumer.close()
      }
      expect(positions(seen)).toEqual([1, 2, 4, 5, 6, 7])
      expect(seen.map((e) => e.metadata.streamName)).toEqual([
        'cart-1',
        'cart-1',
        'cart-2',
        'cart-1',
        'cart-3',
        'cart-2',
      ])
      expect(seen[2]!.metadata).toMatchObject({
        messageId: 'm-1',
        by: 'u1',
        streamPosition: 1n,
        globalPosition: 4n,
      })
    })

    it("runs a projector built with Emmett's helpers, its checkpoint durable in the database", async () => {
      const dir = tempDir()
      const items = projection<ItemAdded, AzothReadEventMetadata, AzothProcessorHandlerContext>({
        name: 'items',
        canHandle: ['ItemAdded'],
        handle: async (events, { db }) => {
          for (const e of events) {
            const key = `items/${e.metadata.streamName}`
            await db
              .transaction()
              .keys([key])
              .execute((tx) => tx.update(key, (v) => (v?.asI64() ?? 0n) + BigInt(e.data.qty)))
          }
        },
      })
      for (const round of [1, 2]) {
        await using db = await Azoth.open(dir, { eventLog })
        const store = getAzothEventStore(db)
        await store.appendToStream('cart-2', [{ type: 'CartConfirmed', data: {} }]) // not in canHandle
        await store.appendToStream('cart-1', [added('a', 2), added('b', 3)])
        // Stops itself on the last event of this round: start() resolves then.
        const last = BigInt(db.head())
        const consumer = store.consumer({
          processors: [
            projector<ItemAdded, AzothReadEventMetadata, AzothProcessorHandlerContext>({
              projection: items,
              checkpoints: azothCheckpointer(),
              stopAfter: (m) => m.metadata.globalPosition === last,
            }),
          ],
        })
        await consumer.start()
        await consumer.close()
        expect(consumer.isRunning).toBe(false)
        expect(db.get('items/cart-1').asI64()).toBe(5n * BigInt(round))
        expect(
          db.get('emmett/checkpoint/emt%3Adefault/emt%3Aprocessor%3Aprojector%3Aitems').asJson(),
        ).toEqual({
          checkpoint: last,
          version: 1,
        })
      }
    })

    it("a batch's checkpoints commit together, once the batch is handled", async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream(
        'cart-1',
        upTo(1, 10).map((i) => added(`s${i}`)),
      )
      const committed = async () => (await db.metrics()).transactions.committed
      const before = await committed()
      const consumer = store.consumer({ pulling: { batchSize: 4 } })
      consumer.reactor({
        processorId: 'r',
        eachMessage: () => {},
        stopAfter: (m) => m.metadata.globalPosition === 10n,
      })
      await consumer.start()
      expect((await committed()) - before).toBe(3) // 4 + 4 + 2
      expect(db.get('emmett/checkpoint/emt%3Adefault/r').asJson()).toEqual({ checkpoint: 10n, version: 1 })
      await consumer.close()
    })

    it("'END' starts after the events stored when the consumer starts", async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b')])
      const seen: Seen[] = []
      const consumer = store.consumer({
        processors: [
          reactor({ processorId: 'late', startFrom: 'END', eachMessage: (m) => void seen.push(m) }),
        ],
      })
      void consumer.start()
      await untilFeedOpen(db)
      await store.appendToStream('cart-1', [added('c')])
      await store.appendToStream('cart-2', [added('d')])
      await untilSeen(seen, 2)
      await consumer.close()
      expect(positions(seen)).toEqual([3, 4])
    })

    it('runs processors at different positions side by side, each from its own', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      for (let i = 0; i < 6; i++) await store.appendToStream(`cart-${i % 2}`, [added(`s${i}`)])
      // 'ahead' handled 1..4 in an earlier run: its checkpoint is at 4.
      const early: Seen[] = []
      const first = store.consumer()
      first.reactor({
        processorId: 'ahead',
        eachMessage: (m) => void early.push(m),
        stopAfter: (m) => m.metadata.globalPosition === 4n,
      })
      await first.start()
      await first.close()
      expect(positions(early)).toEqual(upTo(1, 4))

      const ahead: Seen[] = []
      const fresh: Seen[] = []
      const fromTwo: Seen[] = []
      const both = store.consumer({ pulling: { batchSize: 2 } })
      both.reactor({ processorId: 'ahead', eachMessage: (m) => void ahead.push(m) })
      both.reactor({ processorId: 'fresh', eachMessage: (m) => void fresh.push(m) })
      both.reactor({
        processorId: 'given',
        startFrom: { lastCheckpoint: 2n },
        eachMessage: (m) => void fromTwo.push(m),
      })
      void both.start()
      await untilSeen(fresh, 6)
      await untilSeen(ahead, 2)
      await untilSeen(fromTwo, 4)
      await store.appendToStream('cart-9', [added('live')])
      await untilSeen(fresh, 7)
      await untilSeen(ahead, 3)
      await untilSeen(fromTwo, 5)
      await both.close()
      expect(positions(fresh)).toEqual(upTo(1, 7))
      expect(positions(ahead)).toEqual(upTo(5, 7))
      expect(positions(fromTwo)).toEqual(upTo(3, 7))
    })

    it('a handler that throws stops its processor at the failing batch; the next start retries it', async () => {
      const { logger, lines } = recordingLogger()
      await using db = await Azoth.open(tempDir(), { eventLog, logger })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b'), added('c')])
      const flaky: number[] = []
      const steady: Seen[] = []
      let failOn: bigint | undefined = 2n
      const consumer = store.consumer({ pulling: { batchSize: 1 } })
      consumer.reactor({
        processorId: 'flaky',
        eachMessage: (m) => {
          if (m.metadata.globalPosition === failOn) throw new Error('webhook down')
          flaky.push(Number(m.metadata.globalPosition))
        },
      })
      consumer.reactor({ processorId: 'steady', eachMessage: (m) => void steady.push(m) })
      void consumer.start()
      await untilSeen(steady, 3)
      await store.appendToStream('cart-1', [added('d')])
      await untilSeen(steady, 4)
      expect(consumer.isRunning).toBe(true) // the other processor goes on
      expect(flaky).toEqual([1]) // nothing past the failure in this run
      const failure = lines.find((l) => l.level === 'error')
      expect(failure?.fields).toMatchObject({
        processorId: 'flaky',
        from: 2,
        to: 2,
        component: 'emmett-consumer',
      })
      expect(String(failure?.fields['err'])).toContain('webhook down')
      // Counted as well as logged: the failure, and where each processor goes on from.
      expect(consumer.metrics()).toMatchObject({
        running: true,
        errors: 0,
        processors: {
          flaky: {
            position: 1,
            messages: 1,
            batches: 1,
            errors: 1,
            timeouts: 0,
            lastError: { message: 'webhook down', code: undefined },
          },
          steady: { position: 4, messages: 4, batches: 4, errors: 0, lastError: undefined },
        },
      })

      await consumer.stop()
      failOn = undefined
      void consumer.start()
      await untilSeen(flaky, 4)
      await consumer.close()
      expect(flaky).toEqual([1, 2, 3, 4])
      expect(positions(steady)).toEqual([1, 2, 3, 4])
      expect(consumer.metrics()).toMatchObject({
        running: false,
        processors: { flaky: { position: 4, messages: 4, errors: 1 } },
      })
    })

    it('a processor returning STOP (or meeting stopAfter) stops; start() resolves once none is left', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b'), added('c'), added('d')])
      const stopper: number[] = []
      const until3: number[] = []
      const consumer = store.consumer()
      consumer.reactor({
        processorId: 'stopper',
        eachMessage: (m) => {
          stopper.push(Number(m.metadata.globalPosition))
          return m.metadata.globalPosition === 2n ? { type: 'STOP', reason: 'enough' } : undefined
        },
      })
      consumer.reactor({
        processorId: 'until-3',
        eachMessage: (m) => void until3.push(Number(m.metadata.globalPosition)),
        stopAfter: (m) => m.metadata.globalPosition === 3n,
      })
      await consumer.start()
      expect(consumer.isRunning).toBe(false)
      expect(stopper).toEqual([1, 2])
      expect(until3).toEqual([1, 2, 3])
      await consumer.close()
    })

    it('stop() during a long handler waits for it to finish, and nothing after it is delivered', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b')])
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const entered: number[] = []
      const finished: number[] = []
      const consumer = store.consumer({ pulling: { batchSize: 1 } })
      consumer.reactor({
        processorId: 'slow',
        eachMessage: async (m) => {
          entered.push(Number(m.metadata.globalPosition))
          await gate
          finished.push(Number(m.metadata.globalPosition))
        },
      })
      void consumer.start()
      await untilSeen(entered, 1)
      let stopped = false
      const stopping = consumer.stop().then(() => {
        stopped = true
      })
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
      expect(stopped).toBe(false)
      release()
      await stopping
      expect(finished).toEqual([1])
      expect(entered).toEqual([1])
      expect(db.get('emmett/checkpoint/emt%3Adefault/slow').asJson()).toEqual({ checkpoint: 1n, version: 1 })
      await consumer.close()
    })

    it('start() while a stop() is under way starts again once the stopped run has ended', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b')])
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const seen: number[] = []
      const consumer = store.consumer({ pulling: { batchSize: 1 } })
      consumer.reactor({
        processorId: 'slow',
        eachMessage: async (m) => {
          seen.push(Number(m.metadata.globalPosition))
          await gate
        },
      })
      void consumer.start()
      await untilSeen(seen, 1)
      const stopping = consumer.stop()
      void consumer.start()
      release()
      await stopping
      await untilSeen(seen, 2)
      expect(consumer.isRunning).toBe(true)
      await consumer.close()
      expect(seen).toEqual([1, 2])
    })

    it('a handler that outlives handlerTimeoutMs counts as failed, so stop() never hangs', async () => {
      const { logger, lines } = recordingLogger()
      await using db = await Azoth.open(tempDir(), { eventLog, logger })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a')])
      const consumer = store.consumer({ handlerTimeoutMs: 50 })
      consumer.reactor({ processorId: 'stuck', eachMessage: () => new Promise(() => {}) })
      await consumer.start() // its only processor failed: the run ends
      const failure = lines.find((l) => l.level === 'error')
      expect(failure?.fields).toMatchObject({ processorId: 'stuck', err: { code: 'TIMEOUT' } })
      expect(consumer.metrics().processors['stuck']).toMatchObject({
        position: -1,
        messages: 0,
        errors: 1,
        timeouts: 1,
        lastError: { code: 'TIMEOUT' },
      })
      await consumer.stop()
      await consumer.close()
    })

    it('a start or close hook that outlives handlerTimeoutMs fails with TIMEOUT instead of hanging', async () => {
      const { logger, lines } = recordingLogger()
      await using db = await Azoth.open(tempDir(), { eventLog, logger })
      const store = getAzothEventStore(db)
      const never = () => new Promise<void>(() => {})
      const stuckStart = store.consumer({ handlerTimeoutMs: 50 })
      stuckStart.reactor({ processorId: 'slow-start', eachMessage: () => {}, hooks: { onStart: never } })
      await expectCode(stuckStart.start(), 'TIMEOUT')
      expect(stuckStart.isRunning).toBe(false)
      expect(stuckStart.metrics().processors['slow-start']).toMatchObject({ errors: 1, timeouts: 1 })

      const stuckClose = store.consumer({ handlerTimeoutMs: 50 })
      stuckClose.reactor({ processorId: 'slow-close', eachMessage: () => {}, hooks: { onClose: never } })
      await stuckClose.close()
      expect(
        lines.find((l) => l.level === 'error' && l.fields['processorId'] === 'slow-close')?.fields,
      ).toMatchObject({
        err: { code: 'TIMEOUT' },
      })
      expect(stuckClose.metrics().processors['slow-close']).toMatchObject({ errors: 1, timeouts: 1 })
      await stuckStart.close()
    })

    it('close() stops and closes every processor (their onClose hooks); start() after it is CLOSED', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a')])
      const closedWith: unknown[] = []
      const seen: Seen[] = []
      const consumer = store.consumer({ consumerId: 'mail-out' })
      consumer.reactor({
        processorId: 'hooked',
        eachMessage: (m) => void seen.push(m),
        hooks: { onClose: async (context) => void closedWith.push(context) },
      })
      expect(consumer.consumerId).toBe('mail-out')
      expect(consumer.processors.map((p) => p.id)).toEqual(['hooked'])
      void consumer.start()
      await untilSeen(seen, 1)
      await consumer.close()
      await consumer.close() // twice is harmless
      expect(consumer.isRunning).toBe(false)
      expect(closedWith).toHaveLength(1)
      expect(closedWith[0]).toMatchObject({ db })
      await expectCode(consumer.start(), 'CLOSED')
    })

    it('a processor with its own checkpointer keeps it', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a'), added('b'), added('c')])
      const stored: bigint[] = []
      const seen: Seen[] = []
      const consumer = store.consumer()
      consumer.reactor({
        processorId: 'own',
        eachMessage: (m) => void seen.push(m),
        checkpoints: {
          read: async () => ({ lastCheckpoint: 1n }),
          store: async ({ message }) => {
            stored.push(message.metadata.globalPosition)
            return { success: true, newCheckpoint: message.metadata.globalPosition }
          },
        },
      })
      void consumer.start()
      await untilSeen(seen, 2)
      await consumer.close()
      expect(positions(seen)).toEqual([2, 3])
      expect(stored).toEqual([2n, 3n])
      expect([...db.scan('emmett/')]).toEqual([])
    })

    it("upcasts with the processor's own messageOptions, as Emmett's processors do", async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      // Written before ItemAdded had a quantity: Emmett's upcast maps data (and metadata), never the type.
      await store.appendToStream('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }])
      const seen: Seen[] = []
      const consumer = store.consumer()
      consumer.reactor({
        processorId: 'upcasting',
        eachMessage: (m) => void seen.push(m),
        messageOptions: {
          schema: {
            versioning: {
              upcast: (e: { type: string; data: { sku: string; qty?: number } }) =>
                added(e.data.sku, e.data.qty ?? 1),
            },
          },
        },
      })
      void consumer.start()
      await untilSeen(seen, 1)
      await consumer.close()
      expect(seen[0]).toMatchObject({ type: 'ItemAdded', data: { sku: 'a', qty: 1 } })
      expect(seen[0]!.metadata).toMatchObject({
        streamName: 'cart-1',
        streamPosition: 1n,
        globalPosition: 1n,
      })
    })

    it('start() on a closed database is CLOSED for the caller, not a failure in the log', async () => {
      const { logger, lines } = recordingLogger()
      const db = await Azoth.open(tempDir(), { eventLog, logger })
      const consumer = getAzothEventStore(db).consumer()
      // Its start hook reads the checkpoint: the first call to meet the closed database.
      consumer.reactor({ processorId: 'r', eachMessage: () => {} })
      await db.close()
      await expectCode(consumer.start(), 'CLOSED')
      expect(lines.filter((l) => l.level === 'error')).toEqual([])
      await consumer.close()
    })

    it('a database closed under a running consumer ends its run quietly', async () => {
      const db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      await store.appendToStream('cart-1', [added('a')])
      const seen: Seen[] = []
      const consumer = store.consumer()
      consumer.reactor({ processorId: 'r', eachMessage: (m) => void seen.push(m) })
      const run = consumer.start()
      await untilSeen(seen, 1)
      await db.close()
      await run
      expect(consumer.isRunning).toBe(false)
      await consumer.close()
      await expectCode(
        getAzothEventStore(db)
          .consumer({ processors: consumer.processors as never })
          .start(),
        'CLOSED',
      )
    })

    it('bad options are INVALID_ARGUMENT; a consumer without processors does not start', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const store = getAzothEventStore(db)
      for (const options of [
        null,
        5,
        { consumerId: '' },
        { processors: 'x' },
        { processors: [{ id: 'no-handle' }] },
        { pulling: { batchSize: 0 } },
        { pulling: 3 },
        { handlerTimeoutMs: -1 },
        { handlerTimeoutMs: 1.5 },
        // Past a timer's 32-bit range Node fires it after 1 ms: every handler would time out at once.
        { handlerTimeoutMs: 2 ** 31 },
        { pullingFrequencyInMs: 10 },
      ]) {
        await expectCode(() => store.consumer(options as never), 'INVALID_ARGUMENT')
      }
      await expectCode(store.consumer().start(), 'INVALID_ARGUMENT')
      await expectCode(() => store.consumer().reactor(null as never), 'INVALID_ARGUMENT')
      await expectCode(() => store.consumer().projector(undefined as never), 'INVALID_ARGUMENT')
    })
  },
)

// The LMDB event log only: its events sit in data.mdb where a flipped byte is found by a marker,
// and nothing reads them at open (the file log checks its tail at open, before any consumer runs).
describe('eventStore.consumer() over a damaged event (eventLog lmdb)', () => {
  it('stops its run with CORRUPTION, logged and counted in metrics()', async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir, { eventLog: 'lmdb' })
      await getAzothEventStore(db).appendToStream('cart-1', [added('DAMAGE-ME-42')])
    }
    const file = join(dir, 'canonical', 'data.mdb')
    const bytes = readFileSync(file)
    const at = bytes.indexOf('DAMAGE-ME-42')
    expect(at).toBeGreaterThan(0)
    bytes[at] = bytes[at]! ^ 0x01
    writeFileSync(file, bytes)

    const { logger, lines } = recordingLogger()
    await using db = await Azoth.open(dir, { eventLog: 'lmdb', logger })
    const seen: Seen[] = []
    const consumer = getAzothEventStore(db).consumer()
    consumer.reactor({ processorId: 'reader', eachMessage: (m) => void seen.push(m) })
    await expectCode(consumer.start(), 'CORRUPTION')
    expect(seen).toEqual([])
    expect(lines.some((l) => l.level === 'error' && l.msg?.includes('reading events failed'))).toBe(true)
    expect(consumer.metrics()).toMatchObject({
      running: false,
      errors: 1,
      processors: { reader: { position: -1, messages: 0, errors: 0 } },
    })
    await consumer.close()
  })
})
