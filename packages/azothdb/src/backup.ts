import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { AzothError, type Clock, isAzothError, type Logger } from '@azothdb/core'
import { checkInteger, checkKnownFields, toError } from '@azothdb/core/internal'
import type { FileEventLog } from '@azothdb/store-filelog'
import type { LmdbStore } from '@azothdb/store-lmdb'
import {
  BACKUP_FORMAT_VERSION,
  type BackupManifest,
  currentVersions,
  writeBackupManifest,
} from './backup-manifest.js'
import { type DatabaseManifest, LAYOUT_FORMAT_VERSION, type Layout } from './database-layout.js'
import { since } from './elapsed.js'
import { checksumFiles, listFiles } from './file-checksums.js'
import type { IngestionStateFile } from './ingestion-state.js'
import type { SqlProjection } from './sql-projection.js'

/** @internal What a backup reads from: the database's parts. */
export interface BackupSource {
  readonly layout: Layout
  readonly manifest: DatabaseManifest
  readonly store: LmdbStore
  readonly eventLog: FileEventLog | undefined
  readonly projection: SqlProjection
  readonly options: { readonly logger: Logger; readonly clock: Clock }
  readonly ingestion: IngestionStateFile
}

/** Options of `db.backupTo(targetDir, options)`. */
export interface BackupOptions {
  /**
   * How long, in milliseconds of the database clock, the projectors may take to catch up to the
   * seal while ingestion is paused. Past it the backup fails with `TIMEOUT` (details name the
   * projector, its cursor and the seal), ingestion resumes and the target is left as it was found.
   * Default 60,000; 1..2,147,483,647.
   */
  readonly catchUpTimeoutMs?: number
}

const DEFAULT_CATCH_UP_TIMEOUT_MS = 60_000

/** Names of lock files, never copied: a backup belongs to no process. */
const LOCK_FILES = new Set(['LOCK', 'writer.lock'])

/**
 * Removes runtime files that opening a copy may leave (LMDB's `-lock`, SQLite's `-shm` and an
 * empty `-wal`), so the backup holds only data files.
 */
function removeRuntimeFiles(targetDir: string): void {
  for (const file of listFiles(targetDir)) {
    const full = join(targetDir, file)
    if (
      file.endsWith('-lock') ||
      file.endsWith('-shm') ||
      (file.endsWith('-wal') && statSync(full).size === 0)
    ) {
      rmSync(full)
    }
  }
}

/** Makes sure the target is empty; true when this call created it. */
function prepareTarget(targetDir: string): boolean {
  const existed = existsSync(targetDir)
  if (existed && readdirSync(targetDir).length > 0) {
    throw new AzothError('INVALID_ARGUMENT', `backup target ${targetDir} is not empty`, {
      details: { path: targetDir },
    })
  }
  mkdirSync(targetDir, { recursive: true })
  return !existed
}

/**
 * Leaves the target of a failed backup as it was found (missing, or empty), so a retry into it is
 * not refused as 'not empty' and no half copy is ever taken for a backup.
 */
function removePartialTarget(targetDir: string, created: boolean, logger: Logger): void {
  try {
    if (created) rmSync(targetDir, { recursive: true, force: true })
    else
      for (const entry of readdirSync(targetDir))
        rmSync(join(targetDir, entry), { recursive: true, force: true })
  } catch (e) {
    logger.error({ err: toError(e), targetDir }, 'could not remove the partial backup')
  }
}

/**
 * Lets every projector catch up to the seal, one after the other, within `timeoutMs` on the
 * database clock. A projector that fails is logged and the backup records its cursor; one that
 * is still running when the time is up (a slow or stuck handler) fails the backup with `TIMEOUT`:
 * its run is told to stop after its batch in flight, which its handler timeout bounds.
 */
async function catchUp(source: BackupSource, sealedEventId: number, timeoutMs: number): Promise<void> {
  const { projection } = source
  const { logger, clock } = source.options
  const abort = new AbortController()
  const expired = clock.sleep(timeoutMs, abort.signal).then(
    () => true as const,
    () => false as const,
  )
  try {
    for (const name of projection.group.names) {
      const projector = projection.group.get(name)
      const run = projector.runOnce({ signal: abort.signal }).then(
        (stats) => ({ cursor: stats.cursor, stoppedBy: stats.stoppedBy as string }),
        (e: unknown) => {
          if (isAzothError(e, 'CLOSED', 'IO')) throw e
          // A failing projector must not make the database impossible to back up: the copy records
          // the cursor it committed, and the restored projector goes on from there.
          logger.error({ err: e, projector: name }, 'projector failed during backup')
          return { cursor: projector.position, stoppedBy: 'failed' }
        },
      )
      const outcome = await Promise.race([run, expired])
      if (outcome === true) {
        // The run goes on in the background until it stops; what it raises is logged, not lost.
        run.catch((e: unknown) =>
          logger.error({ err: e, projector: name }, 'projector failed after a backup'),
        )
        throw new AzothError(
          'TIMEOUT',
          `backup: projector '${name}' did not reach the seal ${sealedEventId} within ${timeoutMs} ms ` +
            `(its cursor is ${projector.position}); ingestion resumed and nothing was kept`,
          { details: { projector: name, cursor: projector.position, sealedEventId, timeoutMs } },
        )
      }
      if (outcome === false) continue
      if (outcome.cursor < sealedEventId) {
        logger.warn(
          { projector: name, cursor: outcome.cursor, sealedEventId, stoppedBy: outcome.stoppedBy },
          'projector did not reach the seal; the backup records its cursor',
        )
      }
    }
  } finally {
    abort.abort()
  }
}

function copyEventLogFiles(from: string, to: string): void {
  for (const file of listFiles(from)) {
    if (LOCK_FILES.has(file.split('/').pop()!)) continue
    mkdirSync(dirname(join(to, file)), { recursive: true })
    copyFileSync(join(from, file), join(to, file))
  }
}

/**
 * @internal The backup protocol: pause ingestion (new commits wait), seal at the head, let the projectors
 * catch up to the seal (bounded by `catchUpTimeoutMs`), copy LMDB (a consistent LMDB copy), the file log and the projection
 * (SQLite's online backup API, or `pg_dump`), write `manifest.json` with checksums and the state digest, then resume —
 * also when anything fails, and then the target is left as it was found.
 */
export async function backupDatabase(
  source: BackupSource,
  targetDir: string,
  options: BackupOptions = {},
): Promise<BackupManifest> {
  checkKnownFields('backupTo', options, ['catchUpTimeoutMs'])
  const catchUpTimeoutMs = checkInteger(
    'catchUpTimeoutMs',
    options.catchUpTimeoutMs ?? DEFAULT_CATCH_UP_TIMEOUT_MS,
    1,
    2_147_483_647,
  )
  const created = prepareTarget(targetDir)
  const { store, projection, layout, ingestion } = source
  const { logger } = source.options
  const started = performance.now()
  logger.info({ targetDir, head: store.head() }, 'backup started')
  try {
    // whilePaused resumes however the copy ends; a failed copy is logged here, then rethrown.
    const manifest = await store.whilePaused(async (sealedEventId) => {
      ingestion.publish()
      const paused = performance.now()
      logger.debug({ targetDir, sealedEventId }, 'backup: ingestion paused and sealed')
      await catchUp(source, sealedEventId, catchUpTimeoutMs)
      logger.debug({ targetDir, sealedEventId, ms: since(paused) }, 'backup: projectors caught up; copying')
      await store.backup(join(targetDir, 'canonical'))
      if (source.eventLog) {
        await source.eventLog.flush()
        copyEventLogFiles(layout.events, join(targetDir, 'events'))
      }
      const copy = await projection.store.backup(join(targetDir, projection.backend.backupFile))
      copyFileSync(layout.manifest, join(targetDir, 'azoth.json'))
      removeRuntimeFiles(targetDir)
      const files = await checksumFiles(targetDir, listFiles(targetDir))
      const manifest = writeBackupManifest(targetDir, {
        format: BACKUP_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        sealedEventId,
        eventLog: source.manifest.eventLog,
        versions: currentVersions(LAYOUT_FORMAT_VERSION),
        projection: { backend: projection.backend.backend, file: projection.backend.backupFile },
        projectorCursors: copy.cursors,
        stateDigest: store.stateDigest(),
        files,
      })
      logger.debug({ targetDir, pausedMs: since(paused) }, 'backup: copied; ingestion resumes')
      return manifest
    })
    logger.info(
      {
        targetDir,
        sealedEventId: manifest.sealedEventId,
        files: manifest.files.length,
        bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
        durationMs: since(started),
      },
      'backup finished',
    )
    return manifest
  } catch (e) {
    logger.error({ err: toError(e), targetDir, durationMs: since(started) }, 'backup failed')
    removePartialTarget(targetDir, created, logger)
    throw e
  } finally {
    ingestion.publish()
  }
}
