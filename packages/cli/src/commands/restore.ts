import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { Azoth, AzothError } from 'azothdb'
import { manifestText, verifyBackupFiles } from '../backup-files.js'
import type { CliContext } from '../cli-context.js'
import { databaseLogger, openForWriting } from '../open-database.js'
import { Progress, watchGrowth } from '../progress.js'
import { bytesUsed, formatBytes } from '../sizes.js'
import { cursorsText, printSummary } from '../summary.js'

export interface RestoreOptions {
  /** Replace the database in a non-empty target (refused with `LOCKED` while a writer holds it). */
  readonly replace?: boolean
}

/** What `azothdb restore` reports (its `--json` object). */
export interface RestoreSummary {
  readonly backup: string
  readonly target: string
  readonly replaced: boolean
  readonly head: number
  readonly eventLog: string
  readonly files: number
  readonly bytes: number
  /** Every file matched its SHA-256 before the restore, and the restored state its digest after. */
  readonly verified: true
  /** The manifest matched its own checksum; false for a format-1 manifest, which has none. */
  readonly manifestChecked: boolean
  readonly stateDigest: string
  readonly projectorCursors: Readonly<Record<string, number>>
  readonly seconds: number
}

function isEmptyOrMissing(dir: string): boolean {
  try {
    return !existsSync(dir) || readdirSync(dir).length === 0
  } catch (e) {
    throw new AzothError('IO', `cannot read ${dir}`, { cause: e, details: { path: dir } })
  }
}

function move(from: string, to: string): void {
  try {
    renameSync(from, to)
  } catch (e) {
    throw new AzothError('IO', `cannot rename ${from} to ${to}`, { cause: e, details: { path: from } })
  }
}

/**
 * Restores with `Azoth.restoreFrom` (which checks every checksum and the state digest again) into
 * `dest`, with a bar on the bytes copied so far; returns the restored head and digest.
 */
async function restoreInto(
  ctx: CliContext,
  backup: string,
  dest: string,
  bytes: number,
): Promise<{ head: number; stateDigest: string }> {
  const logger = databaseLogger(ctx)
  const db = await watchGrowth(
    new Progress(ctx, 'restore', 'bytes'),
    bytes,
    () => bytesUsed(dest),
    Azoth.restoreFrom(backup, dest, logger === undefined ? {} : { logger }),
  )
  try {
    return { head: db.head(), stateDigest: db.stateDigest() }
  } finally {
    await db.close()
  }
}

/**
 * Replaces the database in `target`: holding the writer's lock proves no application runs there
 * (else `LOCKED`), the backup is restored into a sibling directory, and only then are the
 * directories swapped, so a failure at any step leaves the old database as it was.
 */
async function replaceDatabase(
  ctx: CliContext,
  backup: string,
  target: string,
  bytes: number,
): Promise<{ head: number; stateDigest: string }> {
  const staging = join(dirname(target), `.${basename(target)}.restoring-${process.pid}`)
  const aside = join(dirname(target), `.${basename(target)}.replaced-${process.pid}`)
  const guard = await openForWriting(ctx, target, { does: 'restore --replace replaces the database files' })
  let restored: { head: number; stateDigest: string }
  try {
    restored = await restoreInto(ctx, backup, staging, bytes)
  } catch (e) {
    rmSync(staging, { recursive: true, force: true })
    await guard.close()
    throw e
  }
  // The lock goes with the old directory: between this close and the rename, an application
  // started now could open the old database; the operator stopped it to get past LOCKED.
  await guard.close()
  move(target, aside)
  try {
    move(staging, target)
  } catch (e) {
    move(aside, target)
    throw e
  }
  rmSync(aside, { recursive: true, force: true })
  return restored
}

/**
 * `azothdb restore <backup> <target>`: checks every file of the backup against its SHA-256 (with a
 * progress bar), restores it, and prints a summary. A non-empty target is refused unless
 * `--replace`, which refuses with `LOCKED` while a writer holds it.
 */
export async function restoreCommand(
  ctx: CliContext,
  backup: string,
  target: string,
  opts: RestoreOptions,
): Promise<void> {
  const started = Date.now()
  const manifest = Azoth.readBackupManifest(backup)
  const checked = await verifyBackupFiles(backup, manifest.files, new Progress(ctx, 'verify ', 'bytes'))
  const absoluteTarget = resolve(target)
  const empty = isEmptyOrMissing(absoluteTarget)
  if (!empty && opts.replace !== true) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `restore target ${absoluteTarget} is not empty: pass --replace to replace the database in it`,
      { details: { path: absoluteTarget } },
    )
  }
  const restored = empty
    ? await restoreInto(ctx, backup, absoluteTarget, checked.bytes)
    : await replaceDatabase(ctx, backup, absoluteTarget, checked.bytes)
  const summary: RestoreSummary = {
    backup,
    target,
    replaced: !empty,
    head: restored.head,
    eventLog: manifest.eventLog,
    files: checked.files,
    bytes: checked.bytes,
    verified: true,
    manifestChecked: manifest.checksum !== undefined,
    stateDigest: restored.stateDigest,
    projectorCursors: manifest.projectorCursors,
    seconds: (Date.now() - started) / 1000,
  }
  if (ctx.json) {
    ctx.printJson(summary)
    return
  }
  printSummary(ctx, `${backup} restored into ${target}${summary.replaced ? ' (replaced)' : ''}`, [
    ['head', String(summary.head)],
    ['event log', summary.eventLog],
    ['files', `${summary.files} (${formatBytes(summary.bytes)}), every SHA-256 verified`],
    ['manifest', manifestText(ctx, manifest)],
    ['state digest', `${summary.stateDigest} (matches the backup)`],
    ['projector cursors', cursorsText(summary.projectorCursors)],
    ['took', `${summary.seconds.toFixed(1)} s`],
  ])
}
