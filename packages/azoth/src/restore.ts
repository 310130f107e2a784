import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { AzothError, CorruptionError } from '@azoth/core'
import { readBackupManifest } from './backup-manifest.js'
import { sha256File } from './file-checksums.js'

/**
 * Checks every file of a backup against its manifest (presence, size, SHA-256) and copies it into
 * an empty `targetDir`. A damaged backup is refused with `CORRUPTION` naming the file, before
 * anything is copied. Returns the manifest.
 */
export async function restoreFiles(backupDir: string, targetDir: string) {
  const manifest = readBackupManifest(backupDir)
  for (const file of manifest.files) {
    const path = join(backupDir, file.path)
    if (!existsSync(path)) {
      throw new CorruptionError(`backup file ${file.path} is missing`, { details: { where: path } })
    }
    if (statSync(path).size !== file.bytes || (await sha256File(path)) !== file.sha256) {
      throw new CorruptionError(`backup file ${file.path} does not match its checksum`, {
        details: { where: path },
      })
    }
  }
  const target = resolve(targetDir)
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new AzothError('INVALID_ARGUMENT', `restore target ${target} is not empty`, {
      details: { path: target },
    })
  }
  for (const file of manifest.files) {
    const to = join(target, file.path)
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(join(backupDir, file.path), to)
  }
  return manifest
}
