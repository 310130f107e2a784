import { Azoth, type VerifyReport } from 'azothdb'
import { manifestText, verifyBackupFiles } from '../backup-files.js'
import type { CliContext } from '../cli-context.js'
import { openForReading, withDatabase } from '../open-database.js'
import { Progress } from '../progress.js'
import { formatBytes } from '../sizes.js'
import { detailsTable, table } from '../tables.js'

export interface VerifyOptions {
  /** Verify a backup directory (its manifest and every file's size and SHA-256) instead. */
  readonly backup?: boolean
}

/**
 * `azothdb verify <dir>`: `db.verify()` on a read-only open (it works beside a running writer):
 * every stored value's and event's checksum, gapless event ids, projection cursors at or below the
 * head, dead letters naming stored events. `--backup`: a backup's manifest and files. Exit 1 when
 * anything is damaged, with what, where and how much.
 */
export async function verifyCommand(ctx: CliContext, dir: string, opts: VerifyOptions): Promise<void> {
  if (opts.backup === true) return verifyBackup(ctx, dir)
  await withDatabase(ctx, openForReading(ctx, dir), async (db) => {
    const report = await db.verify()
    if (!report.ok) ctx.problem()
    if (ctx.json) ctx.printJson(report)
    else printReport(ctx, report)
  })
}

function printReport(ctx: CliContext, report: VerifyReport): void {
  const { keys, events, head, projection } = report.checked
  ctx.print(
    detailsTable(ctx, [
      ['result', report.ok ? ctx.colors.green('ok') : ctx.colors.red('DAMAGED')],
      [
        'checked',
        `${keys} keys, ${events} events (head ${head})${projection === true ? ', the projection’s pages' : ''}`,
      ],
      ['problems', String(report.problems.length + report.problemsOmitted)],
    ]),
  )
  if (report.problems.length === 0) return
  const t = table(ctx, ['kind', 'where', 'detail'])
  for (const p of report.problems) t.push([p.kind, p.where, p.detail])
  ctx.print(t.toString())
  if (report.problemsOmitted > 0) ctx.print(`(${report.problemsOmitted} more problems not listed)`)
}

async function verifyBackup(ctx: CliContext, dir: string): Promise<void> {
  // A damaged manifest, or a damaged or missing file, raises CORRUPTION naming it: the command
  // then exits 1 with that code.
  const manifest = Azoth.readBackupManifest(dir)
  const checked = await verifyBackupFiles(dir, manifest.files, new Progress(ctx, 'verify ', 'bytes'))
  const summary = {
    ok: true,
    backup: dir,
    sealedEventId: manifest.sealedEventId,
    eventLog: manifest.eventLog,
    manifestChecked: manifest.checksum !== undefined,
    files: checked.files,
    bytes: checked.bytes,
  }
  if (ctx.json) ctx.printJson(summary)
  else
    ctx.print(
      detailsTable(ctx, [
        ['result', ctx.colors.green('ok')],
        ['backup', dir],
        ['sealed at', `event ${manifest.sealedEventId} (${manifest.eventLog} log)`],
        ['manifest', manifestText(ctx, manifest)],
        ['checked', `${checked.files} files, ${formatBytes(checked.bytes)}, every SHA-256 matches`],
      ]),
    )
}
