import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { AzothError, CorruptionError, isAzothError, type Logger } from '@azothdb/core'
import { checkArgument, fsyncPathSync, isProcessAlive, rules, toError } from '@azothdb/core/internal'
import { type BackupManifest, projectionOf, readBackupManifest } from './backup-manifest.js'
import { since } from './elapsed.js'
import { sha256File } from './file-checksums.js'
import { type DatabaseParts, openWritable } from './open-database.js'
import type { ResolvedAzothOptions } from './options.js'

/**
 * Checks a backup or restore target up front: a path naming a missing or empty directory.
 * Returns it resolved; anything else is `INVALID_ARGUMENT`, before anything is written.
 */
export function checkTargetDir(name: string, dir: unknown): string {
  const target = resolve(checkArgument(name, dir, rules.path))
  let entries: string[] | undefined
  try {
    entries = statSync(target).isDirectory() ? readdirSync(target) : undefined
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return target
    throw new AzothError('IO', `cannot read ${target}`, { cause: e, details: { path: target } })
  }
  if (entries === undefined || entries.length > 0) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `${name} ${target} must be an empty directory or not exist; it is ${entries === undefined ? 'a file' : 'not empty'}`,
      { details: { argument: name, path: target } },
    )
  }
  return target
}

/**
 * Restores a verified backup at `target` (see {@link stageRestore}): the staged database is opened
 * where it was built and its head and state digest checked against the manifest before it is
 * published; then it is opened at `target` for the caller.
 */
export async function restoreDatabase(
  backupDir: string,
  target: string,
  options: ResolvedAzothOptions,
): Promise<DatabaseParts> {
  const { logger } = options
  const started = performance.now()
  logger.info({ backupDir, target }, 'restore started')
  let staged: { staging: string; manifest: BackupManifest }
  try {
    staged = await stageRestore(backupDir, target, options)
  } catch (e) {
    logger.error({ err: toError(e), backupDir, target, durationMs: since(started) }, 'restore failed')
    throw e
  }
  const { staging, manifest } = staged
  logger.debug({ backupDir, staging, ms: since(started) }, 'restore: backup verified and copied; checking it')
  const opening = { ...options, eventLog: manifest.eventLog, create: false }
  try {
    const staged = await openWritable(staging, opening)
    let matches = false
    try {
      matches =
        staged.store.head() === manifest.sealedEventId && staged.store.stateDigest() === manifest.stateDigest
    } finally {
      try {
        await staged.projection.close()
        await staged.store.close()
      } finally {
        staged.lock?.release()
      }
    }
    if (!matches) {
      throw new CorruptionError('the restored database does not match its backup manifest', {
        details: { where: backupDir, head: manifest.sealedEventId },
      })
    }
    publishRestore(staging, target)
  } catch (e) {
    logger.error({ err: toError(e), backupDir, target, durationMs: since(started) }, 'restore failed')
    discardStaging(staging, logger)
    throw e
  }
  const parts = await openWritable(target, opening)
  logger.info(
    {
      backupDir,
      target,
      head: manifest.sealedEventId,
      files: manifest.files.length,
      bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
      durationMs: since(started),
    },
    'restore finished',
  )
  return parts
}

/** Prefix of the sibling directory a restore builds in; the pid says whether its builder still lives. */
function stagingPrefix(target: string): string {
  return join(dirname(target), `.${basename(target)}.restoring-`)
}

/**
 * Verifies a backup against its manifest (presence, size, SHA-256: `CORRUPTION` naming the file)
 * and builds the database in a temporary sibling of `target`: every file copied, checked again,
 * and synced. Returns the staging directory, which the caller opens to verify and then publishes
 * with {@link publishRestore}; nothing is ever written at `target` itself, so a restore killed at
 * any point leaves `target` missing (or as empty as it was).
 */
async function stageRestore(
  backupDir: string,
  target: string,
  options: ResolvedAzothOptions,
): Promise<{ staging: string; manifest: BackupManifest }> {
  const logger = options.logger
  const manifest = readBackupManifest(backupDir)
  if (manifest.checksum === undefined)
    logger.warn(
      { backupDir, format: manifest.format },
      'the backup manifest predates manifest checksums: damage to it cannot be detected, only to the files it lists',
    )
  checkCompleteness(backupDir, manifest)
  for (const file of manifest.files) await checkFile(join(backupDir, file.path), file, 'backup')
  const files = restoredFiles(backupDir, manifest, options)
  removeAbandonedStaging(target, logger)
  const staging = `${stagingPrefix(target)}${process.pid}-${Date.now().toString(36)}`
  try {
    mkdirSync(staging, { recursive: true })
    for (const file of files) {
      const to = join(staging, file.path)
      mkdirSync(dirname(to), { recursive: true })
      copyFileSync(join(backupDir, file.path), to)
      await checkFile(to, file, 'restored')
      fsyncPathSync(to)
    }
    for (const dir of new Set(files.map((f) => dirname(join(staging, f.path))))) fsyncPathSync(dir)
    fsyncPathSync(staging)
  } catch (e) {
    discardStaging(staging, logger)
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot build the restored database in ${staging}`, {
      cause: e,
      details: { path: staging },
    })
  }
  return { staging, manifest }
}

/**
 * The backup's files the restored database gets. Its projection copy only when the restored
 * database keeps the same backend in its directory (SQLite); a PostgreSQL dump stays in the backup
 * for `pg_restore`, and the restored database opens only once that projection is at or behind its
 * head (see the open's history check).
 */
function restoredFiles(
  backupDir: string,
  manifest: BackupManifest,
  options: ResolvedAzothOptions,
): BackupManifest['files'] {
  const copy = projectionOf(manifest)
  const into = options.projection
  if (copy.backend === into.backend && into.restoredWithDatabase) return manifest.files
  options.logger.warn(
    { backup: backupDir, copy: join(backupDir, copy.file), from: copy.backend, into: into.backend },
    copy.backend === into.backend
      ? `the ${copy.backend} projection is not restored with the database: restore ${copy.file} with that server's tools (pg_restore), or rebuild the projectors`
      : `the backup's ${copy.backend} projection does not go into a ${into.backend} projection: rebuild the projectors`,
  )
  return manifest.files.filter((f) => f.path !== copy.file)
}

/** Moves a verified staging directory to `target` in one rename, and makes the rename durable. */
function publishRestore(staging: string, target: string): void {
  // `checkTargetDir` ran before the copy; a target filled since then fails the rename (ENOTEMPTY).
  try {
    renameSync(staging, target)
    fsyncPathSync(dirname(target))
  } catch (e) {
    throw new AzothError('IO', `cannot move the restored database to ${target}`, {
      cause: e,
      details: { path: target, errno: (e as NodeJS.ErrnoException).code },
    })
  }
}

/** Removes a staging directory after a failure (logged, never thrown: the first error is the one to report). */
function discardStaging(staging: string, logger: Logger): void {
  try {
    rmSync(staging, { recursive: true, force: true })
  } catch (e) {
    logger.error(
      { err: toError(e), path: staging },
      'could not remove the staging directory of a failed restore',
    )
  }
}

/** Staging directories left by restores that were killed: their process is gone. */
function removeAbandonedStaging(target: string, logger: Logger): void {
  const prefix = basename(stagingPrefix(target))
  let siblings: string[]
  try {
    siblings = readdirSync(dirname(target))
  } catch {
    return // the parent does not exist yet: nothing was left there
  }
  for (const name of siblings) {
    if (!name.startsWith(prefix)) continue
    const pid = Number.parseInt(name.slice(prefix.length), 10)
    if (Number.isSafeInteger(pid) && pid !== process.pid && isProcessAlive(pid)) continue
    logger.warn({ path: join(dirname(target), name) }, 'removing what a killed restore left')
    discardStaging(join(dirname(target), name), logger)
  }
}

async function checkFile(
  path: string,
  file: BackupManifest['files'][number],
  what: 'backup' | 'restored',
): Promise<void> {
  if (!existsSync(path)) {
    throw new CorruptionError(`${what} file ${file.path} is missing`, { details: { where: path } })
  }
  if (statSync(path).size !== file.bytes || (await sha256File(path)) !== file.sha256) {
    throw new CorruptionError(`${what} file ${file.path} does not match its checksum`, {
      details: { where: path },
    })
  }
}

/** Files every backup must list: a manifest that drops one describes an incomplete backup. */
const REQUIRED_FILES = ['azoth.json', 'canonical/data.mdb']

function checkCompleteness(backupDir: string, manifest: BackupManifest): void {
  const listed = new Set(manifest.files.map((f) => f.path))
  const missing = [...REQUIRED_FILES, projectionOf(manifest).file].filter((f) => !listed.has(f))
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
