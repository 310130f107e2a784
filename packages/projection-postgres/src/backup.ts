import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { AzothError, type EventId, type ProjectionBackupInfo } from '@azothdb/core'
import type pg from 'pg'
import { toPgAzothError } from './pg-errors.js'

/**
 * Dumps the database with `pg_dump` from a snapshot exported by a REPEATABLE READ transaction that
 * also reads the cursors, so the cursors reported are exactly those in the dump. The transaction
 * stays open until `pg_dump` has finished (an exported snapshot lives as long as its transaction).
 */
export async function backupDatabase(
  pool: pg.Pool,
  connectionString: string,
  pgDumpPath: string,
  target: string,
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
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id
    const cursors: Record<string, EventId> = {}
    for (const row of (
      await client.query<{ projector: string; event_id: string }>(
        'SELECT projector, event_id FROM _azoth_cursors',
      )
    ).rows) {
      cursors[row.projector] = Number(row.event_id)
    }
    await runPgDump(pgDumpPath, [
      '--format=custom',
      `--snapshot=${snapshot}`,
      `--file=${file}`,
      connectionString,
    ])
    await client.query('COMMIT')
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

function runPgDump(executable: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(executable, args, { encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (error === null) return done()
      fail(
        new AzothError('IO', `pg_dump failed: ${stderr.trim() || error.message}`, {
          cause: error,
          details: { executable },
        }),
      )
    })
  })
}
