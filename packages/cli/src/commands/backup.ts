import { join } from 'node:path'
import { Azoth, type BackupManifest } from 'azothdb'
import { verifyBackupFiles } from '../backup-files.js'
import type { CliContext } from '../cli-context.js'
import { openForWriting, withDatabase } from '../open-database.js'
import { Progress, watchGrowth } from '../progress.js'
import { bytesUsed, formatBytes } from '../sizes.js'
import { cursorsText, printSummary } from '../summary.js'

/** What `azothdb backup` reports (its `--json` object). */
export interface BackupSummary {
  readonly source: string
  readonly backup: string
  readonly sealedEventId: number
  readonly eventLog: string
  readonly createdAt: string
  readonly files: number
  readonly bytes: number
  /** Every file was read back and matched the SHA-256 the manifest lists. */
  readonly verified: true
  readonly stateDigest: string
  readonly projectorCursors: Readonly<Record<string, number>>
  readonly seconds: number
}

/** Bytes of the parts a backup copies, for the progress bar (the copy may come out smaller: LMDB compacts). */
function sourceBytes(dir: string): number {
  return ['canonical', 'events', 'projection.db', 'projection.db-wal'].reduce(
    (sum, part) => sum + bytesUsed(join(dir, part)),
    0,
  )
}

/**
 * `azothdb backup <dir> <out>`: a backup through the database's own `backupTo` (ingestion paused,
 * projectors caught up, everything copied consistently, SHA-256 listed), then the manifest and
 * every file read back and checked against their checksums. `backupTo` needs the writer's handle, so this refuses with
 * `LOCKED` while the application holds the database: a running application backs up with
 * `db.backupTo()` itself.
 */
export async function backupCommand(ctx: CliContext, dir: string, out: string): Promise<void> {
  const started = Date.now()
  const manifest: BackupManifest = await withDatabase(
    ctx,
    openForWriting(ctx, dir, {
      does: 'backup pauses commits, which takes the handle of the process that writes',
      instead: 'call db.backupTo() in the application',
    }),
    (db) =>
      watchGrowth(
        new Progress(ctx, 'copy  ', 'bytes'),
        sourceBytes(db.dir),
        () => bytesUsed(out),
        db.backupTo(out),
      ),
  )
  // Read back from disk like any file of the backup: a manifest damaged on its way there fails here.
  const written = Azoth.readBackupManifest(out)
  const checked = await verifyBackupFiles(out, written.files, new Progress(ctx, 'verify', 'bytes'))
  const summary: BackupSummary = {
    source: dir,
    backup: out,
    sealedEventId: manifest.sealedEventId,
    eventLog: manifest.eventLog,
    createdAt: manifest.createdAt,
    files: checked.files,
    bytes: checked.bytes,
    verified: true,
    stateDigest: manifest.stateDigest,
    projectorCursors: manifest.projectorCursors,
    seconds: (Date.now() - started) / 1000,
  }
  if (ctx.json) {
    ctx.printJson(summary)
    return
  }
  printSummary(ctx, `backup of ${dir} written to ${out}`, [
    ['sealed at event', String(summary.sealedEventId)],
    ['event log', summary.eventLog],
    ['files', `${summary.files} (${formatBytes(summary.bytes)}), every SHA-256 verified`],
    ['projector cursors', cursorsText(summary.projectorCursors)],
    ['state digest', summary.stateDigest],
    ['took', `${summary.seconds.toFixed(1)} s`],
  ])
}
