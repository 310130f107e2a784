import { copyFileSync, renameSync } from 'node:fs'
import { AzothError, CorruptionError } from '@azothdb/core'
import Database from 'better-sqlite3'
import { removeSqliteFiles } from './sqlite-projection-store.js'

/**
 * Replaces the projection file at `targetPath` (which must not be open) with a backup, after
 * checking it: a file that fails `PRAGMA integrity_check` or lacks the system tables is refused
 * with `CORRUPTION` and the target is left untouched.
 */
export function restoreSqliteProjection(backupFile: string, targetPath: string): void {
  let db: Database.Database
  try {
    db = new Database(backupFile, { readonly: true, fileMustExist: true })
  } catch (e) {
    throw new AzothError('NOT_FOUND', `cannot open projection backup ${backupFile}`, { cause: e })
  }
  try {
    const result = db.pragma('integrity_check', { simple: true })
    if (result !== 'ok')
      throw new CorruptionError(`projection backup ${backupFile} is damaged: ${String(result)}`)
    db.prepare('SELECT count(*) FROM _azoth_cursors').get()
  } catch (e) {
    if (e instanceof CorruptionError) throw e
    throw new CorruptionError(`projection backup ${backupFile} is not an Azoth projection`, {
      cause: e,
      details: { where: backupFile },
    })
  } finally {
    db.close()
  }
  const temp = `${targetPath}.restoring`
  copyFileSync(backupFile, temp)
  removeSqliteFiles(targetPath)
  renameSync(temp, targetPath)
}
