import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { encodeJson, startNatsRelay } from '@azothdb/relay-nats'
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { Azoth, type AzothEvent, silentLogger } from 'azothdb'
import type { Case, Measure, Section } from '../harness.js'
import { lagReport } from '../stats.js'

const WINDOW = 256
const BATCH = 256
const PAYLOAD = { account: 'acct-42', amount: 1250, currency: 'EUR', note: 'monthly transfer' }

/** A throwaway `nats-server -js` on a free loopback port, its store under `dir`. */
async function startServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
  mkdirSync(dir, { recursive: true })
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      log += d.toString()
      if (log.includes('Server is ready')) resolve()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('error', (e) =>
      reject(new Error(`nats-server could not start (Debian package nats-server): ${e.message}`)),
    )
    child.once('exit', (code) => reject(new Error(`nats-server exited ${code}:\n${log}`)))
  })
  return { url: `nats://127.0.0.1:${port}`, child }
}

async function fillDatabase(dir: string, events: number): Promise<Azoth> {
  const db = await Azoth.open(dir, { logger: silentLogger, durability: 'relaxed' })
  for (let from = 0; from < events; from += 1000) {
    await db.transaction().execute((tx) => {
      for (let i = from; i < Math.min(events, from + 1000); i++) tx.log('Transferred', PAYLOAD)
    })
  }
  return db
}

/** Each run ships to a new stream (the previous one deleted first), so every run publishes all events. */
class Streams {
  #run = 0
  constructor(
    readonly prefix: string,
    readonly jsm: () => JetStreamManager,
  ) {}
  async next(): Promise<{ stream: string; subjectPrefix: string }> {
    if (this.#run > 0) await this.jsm().streams.delete(`${this.prefix}${this.#run}`)
    this.#run++
    const stream = `${this.prefix}${this.#run}`
    const subjectPrefix = `${this.prefix.toLowerCase()}${this.#run}`
    await this.jsm().streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] })
    return { stream, subjectPrefix }
  }
}

/** Ours: a relay started on a filled database until JetStream acknowledged every event. */
function relaySide(dir: string, events: number, server: () => string): Measure {
  let db: Azoth | undefined
  let nc: NatsConnection | undefined
  let streams: Streams | undefined
  return {
    async setup() {
      db = await fillDatabase(join(dir, 'db'), events)
      nc = await connect({ servers: server() })
      const jsm = await jetstreamManager(nc)
      streams = new Streams('OURS', () => jsm)
    },
    async run() {
      const { stream, subjectPrefix } = await streams!.next()
      const relay = startNatsRelay(db!, {
        connection: nc!,
        stream,
        subjectPrefix,
        maxInFlight: WINDOW,
        batchSize: BATCH,
        logger: silentLogger,
      })
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          const m = relay.metrics()
          if (m.lastAckedId >= events) resolve()
          else if (m.state === 'failed') reject(m.lastError)
          else return
          clearInterval(poll)
        }, 1)
      })
      await relay.stop()
      return events
    },
    async teardown() {
      await nc?.close()
      await db?.close()
    },
  }
}

/**
 * Raw: the official client publishing the same events (read and encoded the same way, the same
 * headers and message ids) with the same window of unacknowledged publishes.
 */
function rawSide(dir: string, events: number, server: () => string): Measure {
  let db: Azoth | undefined
  let nc: NatsConnection | undefined
  let js: JetStreamClient | undefined
  let streams: Streams | undefined
  return {
    async setup() {
      db = await fillDatabase(join(dir, 'db'), events)
      nc = await connect({ servers: server() })
      const jsm = await jetstreamManager(nc)
      js = jetstream(nc)
      streams = new Streams('RAW', () => jsm)
    },
    async run() {
      const { stream, subjectPrefix } = await streams!.next()
      let inFlight = 0
      let wake: (() => void) | undefined
      let failure: unknown
      const settle = (): void => {
        inFlight--
        wake?.()
      }
      const publish = (event: AzothEvent): void => {
        const payload = encodeJson(event)
        const h = headers()
        h.set('Nats-Msg-Id', `${stream}:${event.id}`)
        h.set('Azoth-Event-Id', String(event.id))
        h.set('Azoth-Event-Type', encodeURIComponent(event.type))
        h.set('Azoth-Timestamp', String(event.timestamp))
        h.set('Azoth-Source', stream)
        h.set('Content-Type', payload.contentType)
        inFlight++
        js!.publish(`${subjectPrefix}._.${event.type}`, payload.data, { headers: h }).then(settle, (e) => {
          failure = e
          settle()
        })
      }
      for (const event of db!.events()) {
        while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r))
        publish(event)
      }
      while (inFlight > 0) await new Promise<void>((r) => (wake = r))
      if (failure !== undefined) throw failure
      return events
    },
    async teardown() {
      await nc?.close()
      await db?.close()
    },
  }
}

/** Ours under a steady commit load: a writer commits `rate` events/s; lag sampled every 5 ms. */
function steadyLoadSide(dir: string, rate: number, seconds: number, server: () => string): Measure {
  let db: Azoth | undefined
  let nc: NatsConnection | undefined
  let streams: Streams | undefined
  let lags: number[] = []
  return {
    async setup() {
      db = await Azoth.open(join(dir, 'db'), { logger: silentLogger, durability: 'relaxed' })
      nc = await connect({ servers: server() })
      const jsm = await jetstreamManager(nc)
      streams = new Streams('LOAD', () => jsm)
    },
    async run() {
      const { stream, subjectPrefix } = await streams!.next()
      const from = db!.head() + 1
      const relay = startNatsRelay(db!, {
        connection: nc!,
        stream,
        subjectPrefix,
        from,
        logger: silentLogger,
      })
      await relay.ready
      lags = []
      const sample = setInterval(() => lags.push(relay.metrics().lag), 5)
      const perTick = rate / 100
      const started = performance.now()
      for (let tick = 1; tick <= seconds * 100; tick++) {
        await db!.transaction().execute((tx) => {
          for (let i = 0; i < perTick; i++) tx.log('Transferred', PAYLOAD)
        })
        const wait = started + tick * 10 - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      }
      const head = db!.head()
      while (relay.metrics().lastAckedId < head) await new Promise((r) => setTimeout(r, 1))
      clearInterval(sample)
      await relay.stop()
      return head - from + 1
    },
    report: () => lagReport(lags),
    async teardown() {
      await nc?.close()
      await db?.close()
    },
  }
}

/** Starts the server in the first side's setup and stops it in the last side's teardown. */
function withServer(dir: string, sides: (url: () => string) => Measure[]): Measure[] {
  let server: { url: string; child: ChildProcess } | undefined
  const url = (): string => server!.url
  const measures = sides(url)
  let open = 0
  return measures.map((m) => ({
    ...m,
    async setup() {
      if (open++ === 0) server = await startServer(join(dir, 'nats'))
      await m.setup?.()
    },
    async teardown() {
      await m.teardown?.()
      if (--open === 0) {
        const child = server?.child
        server = undefined
        if (child !== undefined && child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r))
          child.kill('SIGTERM')
          await exited
        }
      }
    },
    run: m.run,
    ...(m.report === undefined ? {} : { report: m.report }),
  }))
}

const section: Section = {
  name: 'relay-nats',
  description:
    'Committed events shipped to a JetStream stream (file storage) on a local nats-server by @azothdb/relay-nats; ' +
    'raw = the official client publishing the same events, headers and message ids with the same ack window',
  cases({ quick, tmpDir }): Case[] {
    const events = quick ? 20_000 : 100_000
    const [ours, raw] = withServer(join(tmpDir, 'throughput'), (url) => [
      relaySide(join(tmpDir, 'ours'), events, url),
      rawSide(join(tmpDir, 'raw'), events, url),
    ])
    const rate = 5_000
    const [load] = withServer(join(tmpDir, 'load'), (url) => [
      steadyLoadSide(join(tmpDir, 'load-db'), rate, quick ? 2 : 5, url),
    ])
    return [
      {
        name: `relay ${events.toLocaleString('en')} committed events to JetStream`,
        unit: 'events',
        params: { events, maxInFlight: WINDOW, batchSize: BATCH, storage: 'file' },
        ours: ours!,
        raw: raw!,
        target: { minRatio: 0.7 },
      },
      {
        name: `relay under a steady commit load (${rate.toLocaleString('en')} events/s offered)`,
        unit: 'events',
        params: { offeredRate: rate, transactionsPerSecond: 100, maxInFlight: 256 },
        ours: load!,
      },
    ]
  },
}

export default section
