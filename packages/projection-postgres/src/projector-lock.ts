import { AzothError, type Clock, type Logger } from '@azothdb/core'
import pg from 'pg'
import { toPgAzothError } from './pg-errors.js'
import { LOCK_CLASS } from './system-tables.js'

/** Options of {@link PostgresProjectionStore.lockProjector}. */
export interface ProjectorLockOptions {
  /** Gives up waiting (rejects with the signal's reason) when it aborts. */
  readonly signal?: AbortSignal
  /** How often a waiting instance retries, and the holder checks its session. Default 1,000 ms. */
  readonly checkIntervalMs?: number
}

/**
 * The right to run one projector, held as a session-level advisory lock on a dedicated connection:
 * one holder per projector name across every process and machine using the database. PostgreSQL
 * releases it when that session ends, so a holder that dies (SIGKILL, a lost machine: TCP keepalives
 * end the session) hands over to a waiting instance.
 */
export interface ProjectorLock {
  /** The projector name locked. */
  readonly projector: string
  /**
   * Aborts when the lock is lost (its connection failed or the server restarted): stop applying
   * then, e.g. `await projector.run(lock.signal)`, and lock again. Batches in flight stay safe: each
   * one checks the cursor under a transaction lock, so even two instances never apply an event twice.
   */
  readonly signal: AbortSignal
  /** Releases the lock and closes its connection; idempotent. */
  release(): Promise<void>
}

/** Waits until this process holds `projector`'s lock on a new dedicated connection. */
export async function lockProjector(
  config: pg.ClientConfig,
  projector: string,
  options: ProjectorLockOptions,
  clock: Clock,
  logger: Logger,
): Promise<ProjectorLock> {
  const interval = options.checkIntervalMs ?? 1_000
  const { signal } = options
  for (;;) {
    signal?.throwIfAborted()
    const client = new pg.Client(config)
    const lost = new AbortController()
    // An idle holder's broken connection raises here, not in a query: without a listener, Node
    // would crash on the 'error' event.
    client.on('error', (e) => {
      logger.warn({ err: e, projector }, 'projector lock connection failed; lock lost')
      lost.abort(toPgAzothError(e, `lock of projector '${projector}' lost`))
    })
    try {
      await client.connect()
      for (;;) {
        const r = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
          [LOCK_CLASS.projector, projector],
        )
        if (r.rows[0]?.locked === true) return held(client, projector, lost, interval, logger)
        await clock.sleep(interval, signal)
      }
    } catch (e) {
      await client.end().catch(() => undefined)
      if (signal?.aborted) throw signal.reason
      // The server is unreachable or restarting: keep waiting, like a standby should.
      logger.warn({ err: e, projector }, 'waiting for the projector lock failed; retrying')
      await clock.sleep(interval, signal)
    }
  }
}

function held(
  client: pg.Client,
  projector: string,
  lost: AbortController,
  interval: number,
  logger: Logger,
): ProjectorLock {
  let ended: Promise<void> | undefined
  // Ending the session releases the lock: no unlock round trip that could fail on its own.
  const end = (): Promise<void> =>
    (ended ??= client
      .end()
      .catch((e: unknown) => logger.warn({ err: e, projector }, 'closing the lock connection failed')))
  // An idle connection learns that the server restarted only when it next talks: a heartbeat makes
  // the loss show within one interval.
  // One check at a time: a server that stopped answering would otherwise pile them up behind
  // the first, which the connection's query_timeout ends.
  let checking = false
  const heartbeat = setInterval(() => {
    if (checking) return
    checking = true
    client.query('SELECT 1').then(
      () => {
        checking = false
      },
      (e: unknown) => {
        checking = false
        if (!lost.signal.aborted) lost.abort(toPgAzothError(e, `lock of projector '${projector}' lost`))
      },
    )
  }, interval)
  heartbeat.unref()
  lost.signal.addEventListener(
    'abort',
    () => {
      clearInterval(heartbeat)
      void end()
    },
    { once: true },
  )
  logger.info({ projector }, 'projector lock acquired')
  return {
    projector,
    signal: lost.signal,
    release() {
      if (!lost.signal.aborted)
        lost.abort(new AzothError('CLOSED', `lock of projector '${projector}' released`))
      return end()
    },
  }
}
