import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { AzothError, isAzothError, type Logger } from '@azothdb/core'
import { toError } from '@azothdb/core/internal'
import type { FileEventLog } from '@azothdb/store-filelog'
import type { LmdbStore } from '@azothdb/store-lmdb'
import {
  BACKUP_FORMAT_VERSION,
  BACKUP_MANIFEST,
  type BackupManifest,
  currentVersions,
} from './backup-manifest.js'
import { type DatabaseManifest, LAYOUT_FORMAT_VERSION, type Layout } from './database-layout.js'
import { checksumFiles, listFiles } from './file-checksums.js'
import type { SqlProjection } from './sql-projection.js'

/** What a backup reads from. */
export interface BackupSource {
  readonly layout: Layout
  readonly manifest: DatabaseManifest
  readonly store: LmdbStore
  readonly eventLog: FileEventLog | undefined
  readonly projection: SqlProjection
  readonly logger: Logger
}

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

function prepareTarget(targetDir: string): void {
  if (existsSync(targetDir) && readdirSync(targetDir).length > 0) {
    throw new AzothError('INVALID_ARGUMENT', `backup target ${targetDir} is not empty`, {
      details: { path: targetDir },
    })
  }
  mkdirSync(targetDir, { recursive: true })
}

function copyEventLogFiles(from: string, to: string): void {
  for (const file of listFiles(from)) {
    if (LOCK_FILES.has(file.split('/').pop()!)) continue
    mkdirSync(dirname(join(to, file)), { recursive: true })
    copyFileSync(join(from, file), join(to, file))
  }
}

/**
 * The backup protocol: pause ingestion (new commits wait), seal at the head, let the projectors
 * catch up to the seal, copy LMDB (a consistent LMDB copy), the file log and the SQLite projection
 * (online backup API), write `manifest.json` with checksums and the state digest, then resume —
 * also when anything fails.
 */
export async function backupDatabase(source: BackupSource, targetDir: string): Promise<BackupManifest> {
  prepareTarget(targetDir)
  const { store, projection, layout } = source
  try {
    // whilePaused resumes however the copy ends; a failed copy is logged here, then rethrown.
    return await store.whilePaused(async (sealedEventId) => {
      for (const name of projection.group.names) {
        const projector = projection.group.get(name)
        // A failing projector must not make the database impossible to back up: the copy records
        // the cursor it committed, and the restored projector goes on from there.
        let cursor: number
        let stoppedBy: string
        try {
          const stats = await projector.runOnce()
          cursor = stats.cursor
          stoppedBy = stats.stoppedBy
        } catch (e) {
          if (isAzothError(e, 'CLOSED', 'IO')) throw e
          cursor = projector.position
          stoppedBy = 'failed'
          source.logger.error({ err: e, projector: projector.name }, 'projector failed during backup')
        }
        if (cursor < sealedEventId) {
          source.logger.warn(
            { projector: projector.name, cursor, sealedEventId, stoppedBy },
            'projector did not reach the seal; the backup records its cursor',
          )
        }
      }
      await store.backup(join(targetDir, 'canonical'))
      if (source.eventLog) {
        await source.eventLog.flush()
        copyEventLogFiles(layout.events, join(targetDir, 'events'))
      }
      const copy = await projection.store.backup(join(targetDir, 'projection.db'))
      copyFileSync(layout.manifest, join(targetDir, 'azoth.json'))
      removeRuntimeFiles(targetDir)
      const files = await checksumFiles(targetDir, listFiles(targetDir))
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        sealedEventId,
        eventLog: source.manifest.eventLog,
        versions: currentVersions(LAYOUT_FORMAT_VERSION),
        projectorCursors: copy.cursors,
        stateDigest: store.stateDigest(),
        files,
      }
      const tmp = join(targetDir, `${BACKUP_MANIFEST}.tmp`)
      writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
      renameSync(tmp, join(targetDir, BACKUP_MANIFEST))
      return manifest
    })
  } catch (e) {
    source.logger.error({ err: toError(e), targetDir }, 'backup failed')
    throw e
  }
}
