import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, isAzothError } from '@azothdb/core'
import { acquireProcessLock, type ProcessLock } from '@azothdb/core/internal'
import type { FileEventLog } from './file-event-log.js'
import { type FileEventLogOptions, resolveOptions } from './options.js'
import { repairLog } from './repair-log.js'
import { scanLog } from './scan-log.js'
import type { Segment } from './segment.js'
import { SegmentedEventLog } from './segmented-event-log.js'

/**
 * Opens (creating when needed, unless `readOnly`) the segmented event log in `dir`. A writer takes
 * the directory's `LOCK` file (`LOCKED` when another live process holds it); read-only opens take
 * no lock, change nothing and see the log as it was when opened. Torn tails are repaired; damage
 * anywhere else, or segments missing above what the log compacted itself, raises `CORRUPTION`
 * with `details.file` and `details.offset`, and then no file was changed.
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
  let scanned: Segment[] = []
  try {
    // Phase one changes nothing: an open that fails on damage leaves every file as it was.
    const scan = scanLog(dir, opts)
    scanned = scan.segments
    const segments = opts.readOnly ? scan.segments : await repairLog(opts.fs, dir, scan)
    return new SegmentedEventLog({
      dir,
      opts,
      segments,
      lock,
      recoveredBytes: scan.recoveredBytes,
      placeholder: opts.readOnly && scan.repairs.createFirst,
    })
  } catch (e) {
    for (const s of scanned) if (s.fd >= 0) opts.fs.closeSync(s.fd)
    lock?.release()
    throw asAzothError(e, dir)
  }
}

function asAzothError(e: unknown, dir: string): AzothError {
  if (isAzothError(e)) return e
  const errno = (e as NodeJS.ErrnoException).code
  return new AzothError('IO', `cannot open the event log in ${dir}${errno ? `: ${errno}` : ''}`, {
    cause: e,
    details: { dir, ...(errno ? { errno } : {}) },
  })
}
