import { AzothError, type EventId } from '@azothdb/core'
import Database from 'better-sqlite3'
import { toSqliteAzothError } from './sqlite-errors.js'

/** Pages the backup copies per step (one step per event-loop turn) until the first restart. */
const BACKUP_STEP_PAGES = 100

/**
 * A `progress` callback for better-sqlite3's `backup` that doubles the pages copied per step each
 * time the backup restarted. SQLite restarts an online backup from the first page when another
 * connection commits between two of its steps, so with fixed steps a store committing every few
 * steps would never finish a file of many steps; larger steps always end (one step that copies
 * every page holds one read snapshot, which in WAL mode does not block the writer).
 */
function growOnRestart(): (progress: { totalPages: number; remainingPages: number }) => number {
  let pages = BACKUP_STEP_PAGES
  let remaining = Number.POSITIVE_INFINITY
  return ({ remainingPages }) => {
    if (remainingPages >= remaining) pages = Math.min(pages * 2, 0x7fffffff)
    remaining = remainingPages
    return pages
  }
}

function backupFailed(path: string, target: string, cause: unknown): AzothError {
  return new AzothError('IO', `backup of ${path} to ${target} failed`, { cause })
}

/** Copies the database file at `path` into `target` from a connection of its own, so its writer goes on. */
export async function backupFile(path: string, target: string): Promise<void> {
  let source: Database.Database
  try {
    source = new Database(path, { readonly: true, fileMustExist: true })
  } catch (e) {
    throw backupFailed(path, target, e)
  }
  try {
    await source.backup(target, { progress: growOnRestart() })
  } catch (e) {
    throw backupFailed(path, target, e)
  } finally {
    source.close()
  }
}

/** Copies an open connection (an in-memory database has no file to reopen) into `target`. */
export async function backupConnection(db: Database.Database, path: string, target: string): Promise<void> {
  try {
    await db.backup(target)
  } catch (e) {
    throw backupFailed(path, target, e)
  }
}

/** The projector cursors a backup copy holds. */
export function readBackupCursors(target: string): Record<string, EventId> {
  let copy: Database.Database
  try {
    copy = new Database(target, { readonly: true, fileMustExist: true })
  } catch (e) {
    throw new AzothError('IO', `cannot read the backup ${target}`, { cause: e })
  }
  try {
    const cursors: Record<string, EventId> = {}
    for (const row of copy.prepare('SELECT projector, event_id FROM _azoth_cursors').all() as Array<{
      projector: string
      event_id: number
    }>) {
      cursors[row.projector] = row.event_id
    }
    return cursors
  } catch (e) {
    throw toSqliteAzothError(e, `cannot read the cursors of the backup ${target}`, { where: target })
  } finally {
    copy.close()
  }
}
