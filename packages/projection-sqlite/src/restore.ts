import { copyFileSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { AzothError, CorruptionError, isAzothError } from '@azothdb/core'
import { checkArgument, fsyncPathSync, rules } from '@azothdb/core/internal'
import Database from 'better-sqlite3'
import { removeSqliteFiles } from './sqlite-files.js'

/**
 * Replaces the projection file at `targetPath` (which must not be open) with a backup, after
 * checking it: a file that fails `PRAGMA integrity_check` or lacks the system tables is refused
 * with `CORRUPTION` and the target is left untouched. The copy is written under a temporary name,
 * synced and renamed over the target, so a restore killed mid-copy never leaves a partial file
 * under the target's name.
 */
export function restoreSqliteProjection(backupFile: string, targetPath: string): void {
  checkArgument('backupFile', backupFile, rules.path)
  checkArgument('targetPath', targetPath, rules.path)
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
  try {
    copyFileSync(backupFile, temp)
    fsyncPathSync(temp)
    removeSqliteFiles(targetPath)
    renameSync(temp, targetPath)
    fsyncPathSync(dirname(targetPath))
  } catch (e) {
    rmSync(temp, { force: true })
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot restore the projection into ${targetPath}`, {
      cause: e,
      details: { path: targetPath, errno: (e as NodeJS.ErrnoException).code },
    })
  }
}
