import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { AzothError, CorruptionError } from '@azothdb/core'
import { type BackupManifest, readBackupManifest } from './backup-manifest.js'
import { sha256File } from './file-checksums.js'

/**
 * Checks every file of a backup against its manifest (presence, size, SHA-256) and copies it into
 * an empty `targetDir`. A damaged backup is refused with `CORRUPTION` naming the file, before
 * anything is copied. Returns the manifest.
 */
export async function restoreFiles(backupDir: string, targetDir: string) {
  const manifest = readBackupManifest(backupDir)
  checkCompleteness(backupDir, manifest)
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

/** Files every backup must list: a manifest that drops one describes an incomplete backup. */
const REQUIRED_FILES = ['azoth.json', 'canonical/data.mdb', 'projection.db']

function checkCompleteness(backupDir: string, manifest: BackupManifest): void {
  const listed = new Set(manifest.files.map((f) => f.path))
  const missing = REQUIRED_FILES.filter((f) => !listed.has(f))
  if (manifest.eventLog === 'file' && !manifest.files.some((f) => f.path.startsWith('events/')))
    missing.push('events/')
  if (missing.length > 0) {
    throw new CorruptionError(`the backup manifest lacks ${missing.join(', ')}`, {
      details: { where: join(backupDir, 'manifest.json'), missing },
    })
  }
  // The manifest and the backed-up azoth.json must tell the same story (the file is checksummed).
  let recorded: unknown
  try {
    recorded = (JSON.parse(readFileSync(join(backupDir, 'azoth.json'), 'utf8')) as { eventLog?: unknown })
      .eventLog
  } catch (e) {
    throw new CorruptionError("the backup's azoth.json is unreadable", {
      cause: e,
      details: { where: backupDir },
    })
  }
  if (recorded !== manifest.eventLog) {
    throw new CorruptionError(
      `the backup manifest says eventLog '${manifest.eventLog}', its azoth.json '${String(recorded)}'`,
      {
        details: { where: join(backupDir, 'manifest.json') },
      },
    )
  }
}
