import { checkArgument, toError, withMethods } from '@azothdb/core/internal'
import { type JetStreamClient, jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream'
import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import {
  type Azoth,
  AzothError,
  type AzothEvent,
  isAzothError,
  type Logger,
  type ProjectionTxControl,
  type Subscription,
} from 'azothdb'
import { AckWindow } from './ack-window.js'
import { backoffDelay, sleep } from './backoff.js'
import { fromClientError } from './client-error.js'
import { messageHeaders } from './message.js'
import type { NatsRelayMetrics, NatsRelayState } from './metrics.js'
import { type NatsRelayOptions, type ResolvedRelayOptions, resolveRelayOptions } from './options.js'
import { isPermanent, type ResumePoint, recoverResumePoint } from './resume-point.js'
import { checkSubject } from './subject.js'

const DATABASE = withMethods<Azoth>('an Azoth database', ['head', 'events', 'subscribe'])

/**
 * Starts a relay that ships the committed events of `db` to a JetStream stream, in id order, each
 * exactly once: see {@link NatsRelay}. Options are checked at once (`CONFIG`); the relay then
 * connects, recovers where to resume from what the stream holds and follows the database.
 *
 * @example
 * const relay = startNatsRelay(db, { servers: 'nats://127.0.0.1:4222', stream: 'ORDERS' })
 * await relay.ready // the last event id JetStream already held
 * // ... later
 * await relay.stop()
 */
export function startNatsRelay<Tx extends ProjectionTxControl, E>(
  db: Azoth<Tx, E>,
  options: NatsRelayOptions,
): NatsRelay {
  // The relay only reads events (head, events, subscribe), whose shape does not depend on where
  // the projections live or how events are typed: a database with any projection store will do.
  return new NatsRelay(db as unknown as Azoth, options)
}

/**
 * Ships committed events to NATS JetStream. Each event becomes one message on the subject the
 * `subject` option gives, with its id, type, timestamp, stream and metadata in headers and
 * `Nats-Msg-Id: <source>:<id>`. Each publish expects the stream's last sequence to be the one before
 * it, so no event lands out of order or twice, and where to resume is read from the stream's last
 * message: SIGKILL of the relay, a NATS restart or lost acknowledgements never skip an event or
 * store one twice. NATS errors are retried with backoff, logged and counted; the relay stops only
 * on `stop()`, when the database closes, or on a verdict no retry changes (`done` rejects).
 */
export class NatsRelay {
  /**
   * Resolves with the id of the last event the stream already held (0: none) once the relay has
   * recovered its resume point; rejects when it fails or stops before that.
   */
  readonly ready: Promise<number>
  /** Resolves when the relay has stopped; rejects with the error that stopped it (`CONFIG`, `CORRUPTION`...). */
  readonly done: Promise<void>
  readonly #db: Azoth
  readonly #options: ResolvedRelayOptions
  readonly #logger: Logger
  readonly #stopping = new AbortController()
  readonly #window: AckWindow
  #resolveReady!: (id: number) => void
  #rejectReady!: (e: Error) => void
  #state: NatsRelayState = 'starting'
  #connection: NatsConnection | undefined
  #subscription: Subscription | undefined
  #published = 0
  #duplicates = 0
  #lastAckedId = 0
  #lastHead = 0
  #reconnects = 0
  #retries = 0
  #lastError: Error | undefined
  #stopped: Promise<void> | undefined

  /** @internal relays are started with {@link startNatsRelay}. */
  constructor(db: Azoth, options: NatsRelayOptions) {
    this.#db = checkArgument('db', db, DATABASE)
    this.#options = resolveRelayOptions(options)
    this.#lastHead = db.head()
    this.#window = new AckWindow(this.#options.maxInFlight)
    this.#logger = (this.#options.logger ?? db.logger).child({
      component: 'relay-nats',
      stream: this.#options.stream,
    })
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Nobody has to await these: a relay that fails must not leave an unhandled rejection.
    this.ready.catch(() => undefined)
    this.done = this.#run()
    this.done.catch(() => undefined)
  }

  /** Counters and the lag behind the database's head. */
  metrics(): NatsRelayMetrics {
    try {
      this.#lastHead = this.#db.head()
    } catch {
      // A closed database: the last head seen stands.
    }
    return {
      state: this.#state,
      published: this.#published,
      duplicates: this.#duplicates,
      lastAckedId: this.#lastAckedId,
      lag: Math.max(0, this.#lastHead - this.#lastAckedId),
      inFlight: this.#window.inFlight,
      reconnects: this.#reconnects,
      retries: this.#retries,
      lastError: this.#lastError,
    }
  }

  /**
   * Stops publishing, waits up to `stopTimeoutMs` for acknowledgements in flight, then closes the
   * connection it opened. Always finishes; never rejects (a failure is `done`'s to report).
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#stopping.abort()
    this.#subscription?.close()
    this.#window.interrupt()
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#options.stopTimeoutMs)
    })
    const outcome = await Promise.race([
      this.done.then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      timedOut,
    ])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      this.#logger.warn(
        { inFlight: this.#window.inFlight },
        'relay stopped with acknowledgements outstanding (they resume from JetStream on the next start)',
      )
    }
    await this.#closeConnection()
    if (this.#state !== 'failed') this.#state = 'stopped'
  }

  async #closeConnection(): Promise<void> {
    const nc = this.#connection
    if (nc === undefined || this.#options.connection !== undefined) return
    this.#connection = undefined
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([nc.close(), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))])
    } catch (e) {
      this.#logger.warn({ err: e }, 'closing the NATS connection failed')
    } finally {
      clearTimeout(timer)
    }
  }

  async #run(): Promise<void> {
    try {
      await this.#loop()
    } finally {
      // Whatever ended the relay, a connection of its own must not keep the process alive.
      await this.#closeConnection()
    }
  }

  async #loop(): Promise<void> {
    let failures = 0
    // Failures in a row: the backoff grows only while no event gets through between them.
    let ackedAtLastFailure = -1
    while (!this.#stopping.signal.aborted) {
      try {
        const nc = await this.#connect()
        const jsm = await jetstreamManager(nc, { timeout: this.#options.ackTimeoutMs })
        const resume = await recoverResumePoint(jsm, this.#db, this.#options)
        // What JetStream holds is the truth: a crashed server may have lost acknowledged messages.
        this.#lastAckedId = resume.next - 1
        this.#resolveReady(resume.next - 1)
        this.#state = 'running'
        this.#logger.info({ next: resume.next, lastSeq: resume.lastSeq }, 'relay resumes')
        await this.#publish(jetstream(nc, { timeout: this.#options.ackTimeoutMs }), resume)
        // The feed ended without a stop: the database closed.
        if (!this.#stopping.signal.aborted) return this.#end('the database closed')
      } catch (e) {
        if (this.#stopping.signal.aborted) break
        if (isAzothError(e, 'CLOSED')) return this.#end('the database closed')
        const error = fromClientError(e, 'publishing')
        this.#lastError = error
        if (isPermanent(error)) {
          this.#state = 'failed'
          this.#rejectReady(error)
          this.#logger.error({ err: error }, 'relay stopped')
          throw error
        }
        if (this.#lastAckedId > ackedAtLastFailure) failures = 0
        ackedAtLastFailure = this.#lastAckedId
        failures++
        this.#retries++
        this.#state = 'retrying'
        const delay = backoffDelay(failures, this.#options.retryInitialDelayMs, this.#options.retryMaxDelayMs)
        this.#logger.warn({ err: error, failures, delayMs: Math.round(delay) }, 'relay retries')
        await sleep(delay, this.#stopping.signal)
      }
    }
    this.#end('stopped')
  }

  #end(why: string): void {
    this.#state = 'stopped'
    this.#rejectReady(new AzothError('CLOSED', `relay ${why} before it was ready`))
    this.#logger.info({ lastAckedId: this.#lastAckedId }, `relay ends: ${why}`)
  }

  async #connect(): Promise<NatsConnection> {
    if (this.#options.connection !== undefined) return this.#options.connection
    if (this.#connection !== undefined && !this.#connection.isClosed()) return this.#connection
    const nc = await connect({
      servers: [...(this.#options.servers ?? [])],
      name: `azoth-relay-${this.#options.source}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    })
    this.#connection = nc
    void this.#countReconnects(nc)
    if (this.#stopping.signal.aborted) await this.#closeConnection()
    return nc
  }

  async #countReconnects(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (status.type === 'reconnect') {
          this.#reconnects++
          this.#logger.info({ server: status.server }, 'NATS connection back')
        } else if (status.type === 'disconnect') {
          this.#logger.warn({ server: status.server }, 'NATS connection lost')
        }
      }
    } catch (e) {
      this.#logger.debug({ err: e }, 'NATS status feed ended')
    }
  }

  /**
   * Publishes events from `resume.next` on, each expecting the sequence before it, with at most
   * `maxInFlight` unacknowledged. Returns on stop or when the database closes; throws the first
   * failure once everything in flight has settled (so the next attempt starts from a quiet stream).
   */
  async #publish(js: JetStreamClient, resume: ResumePoint): Promise<void> {
    const window = this.#window
    const feed = this.#db.subscribe({ from: resume.next, batchSize: this.#options.batchSize })
    this.#subscription = feed
    let failure: unknown
    const fail = (e: unknown): void => {
      if (failure !== undefined) return
      failure = e
      feed.close()
      window.interrupt()
    }
    try {
      for await (const event of feed) {
        while (!window.open && failure === undefined && !this.#stopping.signal.aborted) await window.changed()
        if (failure !== undefined || this.#stopping.signal.aborted) break
        const lastSequence = resume.lastSeq + (event.id - resume.next)
        const { subject, data, headers } = this.#message(event)
        window.add()
        js.publish(subject, data, {
          headers,
          expect: { lastSequence },
          timeout: this.#options.ackTimeoutMs,
        }).then(
          (ack) => {
            window.release()
            this.#acked(event.id, lastSequence + 1, ack, fail)
          },
          (e: unknown) => {
            window.release()
            fail(e)
          },
        )
      }
    } catch (e) {
      fail(e)
    } finally {
      // Bounded: each publish settles within its ack timeout, or at once when the connection closes.
      await window.drained()
      feed.close()
      this.#subscription = undefined
    }
    if (failure !== undefined) throw failure
  }

  #message(event: AzothEvent): { subject: string; data: Uint8Array; headers: MsgHdrs } {
    try {
      const subject = checkSubject(this.#options.subject(event), event.id)
      const payload = this.#options.encode(event)
      return {
        subject,
        data: payload.data,
        headers: messageHeaders(event, this.#options.source, payload.contentType),
      }
    } catch (e) {
      if (isAzothError(e)) throw e
      throw new AzothError(
        'INVALID_ARGUMENT',
        `event ${event.id} cannot be made a message: ${toError(e).message}`,
        {
          cause: e,
          details: { eventId: event.id },
        },
      )
    }
  }

  #acked(id: number, expectedSeq: number, ack: PubAck, fail: (e: unknown) => void): void {
    if (ack.seq !== expectedSeq) {
      // Someone else publishes to the stream: resume from what it holds now (IO: retried).
      fail(
        new AzothError('IO', `JetStream stored event ${id} at sequence ${ack.seq}, expected ${expectedSeq}`, {
          details: { eventId: id, seq: ack.seq, expectedSeq },
        }),
      )
      return
    }
    if (ack.duplicate) this.#duplicates++
    else this.#published++
    // Each publish expected its predecessor in place, so an acknowledged id covers all before it.
    if (id > this.#lastAckedId) this.#lastAckedId = id
  }
}
