import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, isAzothError } from '@azothdb/core'
import { acquireProcessLock, type ProcessLock } from '@azothdb/core/internal'
import { FileEventLog } from './file-event-log.js'
import { openSegments } from './open-segments.js'
import { type FileEventLogOptions, resolveOptions } from './options.js'

/**
 * Opens (creating when needed, unless `readOnly`) the segmented event log in `dir`. A writer takes
 * the directory's `LOCK` file (`LOCKED` when another live process holds it); read-only opens take
 * no lock, change nothing and see the log as it was when opened. Torn tails are repaired; damage
 * anywhere else raises `CORRUPTION` with `details.file` and `details.offset`.
 *
 * @example
 * const log = await openFileEventLog('./events')
 * log.append(log.head() + 1, [new TextEncoder().encode('hello')])
 * await log.sync()
 * for (const { id, bytes } of log.read({ from: 1 })) console.log(id, bytes)
 * await log.close()
 */
export async function openFileEventLog(
  dir: string,
  options: FileEventLogOptions = {},
): Promise<FileEventLog> {
  const opts = resolveOptions(options)
  if (typeof dir !== 'string' || dir === '') {
    throw new AzothError('INVALID_ARGUMENT', 'the event log directory must be a non-empty string', {
      details: { dir },
    })
  }
  let lock: ProcessLock | undefined
  if (opts.readOnly) {
    if (!existsSync(dir)) {
      throw new AzothError('NOT_FOUND', `event log directory ${dir} does not exist`, { details: { dir } })
    }
  } else {
    try {
      mkdirSync(dir, { recursive: true })
    } catch (e) {
      throw new AzothError('IO', `cannot create the event log directory ${dir}`, {
        cause: e,
        details: { dir },
      })
    }
    lock = acquireProcessLock(join(dir, 'LOCK'), `event log ${dir}`)
  }
  let log: FileEventLog
  try {
    const opened = openSegments(dir, opts)
    log = new FileEventLog(dir, opts, opened.segments, lock, opened.recoveredBytes)
    if (!opened.changed) return log
  } catch (e) {
    lock?.release()
    throw asAzothError(e, dir)
  }
  try {
    await log.sync() // Make the repair durable before anyone builds on it.
    return log
  } catch (e) {
    await log.close() // Releases descriptors and the lock; skips the sync once the log failed.
    throw asAzothError(e, dir)
  }
}

function asAzothError(e: unknown, dir: string): AzothError {
  if (isAzothError(e)) return e
  return new AzothError('IO', `cannot open the event log in ${dir}`, { cause: e, details: { dir } })
}
