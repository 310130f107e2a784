import type { Azoth, RunStats } from 'azothdb'
import type { CliContext } from '../cli-context.js'
import { loadHandlersModule, selectProjectors } from '../handlers-module.js'
import { openForReading, openForWriting, withDatabase } from '../open-database.js'
import { Progress } from '../progress.js'
import { projectorPositions } from '../projector-cursors.js'
import { detailsTable, table } from '../tables.js'

export interface ProjectorListOptions {
  readonly name?: string
}

export interface ProjectorRunOptions {
  readonly name?: string
  readonly handlers: string
}

/** `azothdb projector list <dir>`: each projector's cursor, lag and dead letters (read-only). */
export async function projectorListCommand(
  ctx: CliContext,
  dir: string,
  opts: ProjectorListOptions,
): Promise<void> {
  const all = await withDatabase(ctx, openForReading(ctx, dir), (db) => projectorPositions(db, db.head()))
  const positions = opts.name === undefined ? all : all.filter((p) => p.name === opts.name)
  if (ctx.json) {
    for (const p of positions) ctx.printJson(p)
    return
  }
  if (positions.length === 0) {
    ctx.note(
      opts.name === undefined ? 'no projector has recorded a cursor yet' : `no projector '${opts.name}'`,
    )
    return
  }
  const t = table(ctx, ['projector', 'cursor', 'lag', 'state', 'dead letters'])
  for (const p of positions) {
    const state =
      p.state === 'caughtUp' ? ctx.colors.green('caught up') : ctx.colors.yellow(`${p.lag} behind`)
    t.push([p.name, String(p.cursor), String(p.lag), state, String(p.deadLetters)])
  }
  ctx.print(t.toString())
}

/** One projector's run as the command reports it. */
interface RunReport extends RunStats {
  readonly projector: string
  readonly mode: 'run' | 'rebuild'
}

async function runProjector(
  ctx: CliContext,
  db: Azoth,
  name: string,
  options: Parameters<Azoth['projector']>[0],
  mode: 'run' | 'rebuild',
): Promise<RunReport> {
  const projector = db.projector({ ...options, name })
  const progress = new Progress(ctx, `${mode === 'run' ? 'run' : 'rebuild'} ${name}`, 'events')
  progress.update(0, db.head())
  const runOptions = {
    signal: ctx.interruptSignal(),
    onProgress: (p: { readonly cursor: number; readonly target: number }) =>
      progress.update(p.cursor, p.target),
  }
  try {
    const stats = mode === 'run' ? await projector.runOnce(runOptions) : await projector.rebuild(runOptions)
    if (stats.stoppedBy === 'caughtUp') progress.finish()
    else progress.stop()
    return { projector: name, mode, ...stats }
  } catch (e) {
    progress.stop()
    throw e
  }
}

function printReport(ctx: CliContext, r: RunReport): void {
  const c = ctx.colors
  const stopped =
    r.stoppedBy === 'caughtUp'
      ? c.green('caught up')
      : r.stoppedBy === 'aborted'
        ? c.yellow('interrupted')
        : c.red('circuit breaker open')
  ctx.print(
    detailsTable(ctx, [
      ['projector', `${r.projector} (${r.mode})`],
      ['cursor', `${r.from} → ${r.cursor} of ${r.target}`],
      ['events', `${r.events} in ${r.batches} batch${r.batches === 1 ? '' : 'es'}`],
      ['skipped', String(r.skipped)],
      ['dead-lettered', r.deadLettered > 0 ? c.red(String(r.deadLettered)) : '0'],
      ['retries', String(r.retries)],
      ['stopped', stopped],
    ]),
  )
}

/**
 * `azothdb projector run|rebuild <dir> --handlers <module> [--name n]`: runs (or rebuilds from
 * event 1) the projectors of the handlers module up to the head, with a progress bar. Both write
 * the projection, so they refuse with `LOCKED` while a writer process holds the database. Exit 1
 * when a run was interrupted, stopped early, or dead-lettered events.
 */
export async function projectorRunCommand(
  ctx: CliContext,
  dir: string,
  opts: ProjectorRunOptions,
  mode: 'run' | 'rebuild',
): Promise<void> {
  const module = await loadHandlersModule(opts.handlers)
  const selected = selectProjectors(module, opts.name)
  await withDatabase(
    ctx,
    openForWriting(ctx, dir, { does: `projector ${mode} writes the projection` }),
    async (db) => {
      if (module.migrations.length > 0) await db.migrate(module.migrations)
      for (const [name, options] of selected) {
        const report = await runProjector(ctx, db, name, options, mode)
        if (ctx.json) ctx.printJson(report)
        else printReport(ctx, report)
        if (report.stoppedBy !== 'caughtUp' || report.deadLettered > 0) ctx.problem()
        if (ctx.interrupted) return
      }
    },
  )
}
