import { spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { AzothError, type EventId, type ProjectionBackupInfo } from '@azothdb/core'
import type pg from 'pg'
import { toPgAzothError } from './pg-errors.js'
import { timedQuery } from './timed-query.js'

/**
 * Dumps the database with `pg_dump` from a snapshot exported by a REPEATABLE READ transaction that
 * also reads the cursors, so the cursors reported are exactly those in the dump. The transaction
 * stays open until `pg_dump` has finished (an exported snapshot lives as long as its transaction).
 * Each statement waits at most `timeoutMs`; `pg_dump` is killed when it goes that long without
 * progress (no output written, no line logged).
 */
export async function backupDatabase(
  pool: pg.Pool,
  connectionString: string,
  pgDumpPath: string,
  target: string,
  timeoutMs: number,
): Promise<ProjectionBackupInfo> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new AzothError('INVALID_ARGUMENT', 'backup target must be a non-empty path')
  }
  const file = resolve(target)
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (e) {
    throw toPgAzothError(e, 'cannot connect to PostgreSQL for a backup')
  }
  let failed: Error | undefined
  // A connection that breaks while pg_dump runs raises 'error' on the client: without a listener,
  // Node would end the process.
  const onError = (e: Error): void => {
    failed = e
  }
  client.on('error', onError)
  try {
    await timedQuery(client, timeoutMs, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const snapshot = (await timedQuery(client, timeoutMs, 'SELECT pg_export_snapshot() AS id')).rows[0]!
      .id as string
    const cursors: Record<string, EventId> = {}
    for (const row of (await timedQuery(client, timeoutMs, 'SELECT projector, event_id FROM _azoth_cursors'))
      .rows as Array<{ projector: string; event_id: string }>) {
      cursors[row.projector] = Number(row.event_id)
    }
    await runPgDump(
      pgDumpPath,
      ['--format=custom', '--verbose', `--snapshot=${snapshot}`, `--file=${file}`, connectionString],
      file,
      timeoutMs,
    )
    await timedQuery(client, timeoutMs, 'COMMIT')
    return { files: [file], cursors }
  } catch (e) {
    failed ??= e instanceof Error ? e : new Error(String(e))
    if (e instanceof AzothError) throw e
    throw toPgAzothError(e, `backup to ${file} failed`)
  } finally {
    client.off('error', onError)
    client.release(failed)
  }
}

// Enough of pg_dump's log to explain a failure.
const STDERR_KEPT = 4_096

/**
 * Runs `pg_dump`; kills it (SIGKILL) and rejects with `TIMEOUT` when neither its output file nor
 * its `--verbose` log grew for `timeoutMs`: a server that stopped answering leaves it waiting
 * forever, while a large dump keeps making progress however long it takes.
 */
function runPgDump(
  executable: string,
  args: readonly string[],
  file: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    let logged = 0
    let lastSeen = -1
    let lastProgressAt = Date.now()
    let stalled: AzothError | undefined
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      logged += chunk.length
      stderr = (stderr + chunk).slice(-STDERR_KEPT)
    })
    const check = (size: number): void => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const seen = size + logged
      if (seen !== lastSeen) {
        lastSeen = seen
        lastProgressAt = Date.now()
        return
      }
      if (Date.now() - lastProgressAt < timeoutMs) return
      stalled = new AzothError('TIMEOUT', `pg_dump made no progress for ${timeoutMs} ms; killed`, {
        cause: new Error(lastLines(stderr) || 'pg_dump wrote nothing'),
        details: { executable, timeoutMs },
      })
      child.kill('SIGKILL')
    }
    const watchdog = setInterval(
      () => {
        void stat(file).then(
          (s) => check(s.size),
          () => check(0),
        )
      },
      Math.max(20, Math.min(1_000, timeoutMs / 4)),
    )
    child.once('error', (error) => {
      clearInterval(watchdog)
      fail(
        new AzothError('IO', `pg_dump failed to start: ${error.message}`, {
          cause: error,
          details: { executable },
        }),
      )
    })
    child.once('close', (code, signal) => {
      clearInterval(watchdog)
      if (stalled !== undefined) return fail(stalled)
      if (code === 0) return done()
      const cause = new Error(`pg_dump exited with ${code === null ? `signal ${signal}` : `code ${code}`}`)
      fail(
        new AzothError('IO', `pg_dump failed: ${lastLines(stderr) || cause.message}`, {
          cause,
          details: { executable },
        }),
      )
    })
  })
}

/** The lines that say what went wrong, without the progress lines of `--verbose`. */
function lastLines(log: string): string {
  const lines = log.split('\n').filter((l) => l.trim() !== '')
  const errors = lines.filter(
    (l) =>
      !/^pg_dump: (reading|dumping|saving|last built-in|finding|flagging|identifying|processing)/.test(l),
  )
  return (errors.length > 0 ? errors : lines).slice(-5).join('\n').trim()
}
