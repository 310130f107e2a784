import { AzothError, type DeadLetter, type DeadLetterStatus } from 'azothdb'
import type { CliContext } from '../cli-context.js'
import { eventJson } from '../event-format.js'
import { loadHandlersModule, projectorOptionsOf } from '../handlers-module.js'
import { openForReading, openForWriting, withDatabase } from '../open-database.js'
import { detailsTable, table } from '../tables.js'

export interface DlqListOptions {
  readonly projector?: string
  readonly status?: DeadLetterStatus
  readonly limit: number
}

/** A dead letter without its envelope bytes (`dlq show` decodes the event instead). */
function rowJson(row: DeadLetter): Record<string, unknown> {
  const { envelope: _envelope, ...rest } = row
  return rest
}

function time(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString()
}

function oneLine(text: string, max: number): string {
  const line = text.split('\n', 1)[0] ?? ''
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

function notFound(id: number): AzothError {
  return new AzothError('NOT_FOUND', `no dead letter ${id}`, { details: { id } })
}

/** `azothdb dlq list <dir>`: the parked events, oldest first (read-only). */
export async function dlqListCommand(ctx: CliContext, dir: string, opts: DlqListOptions): Promise<void> {
  const filter = {
    ...(opts.projector === undefined ? {} : { projector: opts.projector }),
    ...(opts.status === undefined ? {} : { status: opts.status }),
  }
  const [rows, total] = await withDatabase(ctx, openForReading(ctx, dir), (db) =>
    Promise.all([db.deadLetters.list({ ...filter, limit: opts.limit }), db.deadLetters.count(filter)]),
  )
  if (ctx.json) {
    for (const row of rows) ctx.printJson(rowJson(row))
    return
  }
  const t = table(ctx, ['id', 'projector', 'event', 'type', 'status', 'attempts', 'last failed', 'error'])
  for (const r of rows) {
    t.push([
      String(r.id),
      r.projector,
      String(r.eventId),
      r.eventType,
      r.status === 'permanent' ? ctx.colors.red(r.status) : r.status,
      String(r.attempts),
      time(r.lastFailedAt),
      oneLine(r.errorMessage, 60),
    ])
  }
  ctx.print(t.toString())
  const what = `${total} dead letter${total === 1 ? '' : 's'}`
  ctx.note(
    ctx.errorColors.dim(rows.length < total ? `${rows.length} of ${what} shown; more with --limit` : what),
  )
}

/** `azothdb dlq show <dir> <id>`: one dead letter in full, with its event decoded from the log. */
export async function dlqShowCommand(ctx: CliContext, dir: string, id: number): Promise<void> {
  await withDatabase(ctx, openForReading(ctx, dir), async (db) => {
    const row = await db.deadLetters.get(id)
    if (row === undefined) throw notFound(id)
    // The log holds the event unless retention dropped it (compactEventLog); the row keeps its bytes either way.
    const [event] = db.events({ from: row.eventId, to: row.eventId })
    if (ctx.json) {
      ctx.printJson({ ...rowJson(row), event: event === undefined ? null : eventJson(event) })
      return
    }
    ctx.print(
      detailsTable(ctx, [
        ['id', String(row.id)],
        ['projector', row.projector],
        ['event', `${row.eventId} (${row.eventType})`],
        ['status', row.status],
        ['attempts', String(row.attempts)],
        ['first failed', time(row.firstFailedAt)],
        ['last failed', time(row.lastFailedAt)],
        ['next retry', time(row.nextRetryAt)],
        ['error', row.errorMessage],
        [
          'payload',
          event === undefined ? '(no longer in the event log)' : JSON.stringify(eventJson(event).payload),
        ],
      ]),
    )
    if (row.errorStack === undefined) return
    if (ctx.verbose) ctx.print(ctx.colors.dim(row.errorStack))
    else ctx.note(ctx.errorColors.dim("the handler's stack trace: add --verbose"))
  })
}

/**
 * `azothdb dlq retry <dir> <id> --handlers <module>`: re-applies the event through its projector's
 * handlers (from the module); the row is removed when it applies. Exit 1 when it fails again.
 */
export async function dlqRetryCommand(
  ctx: CliContext,
  dir: string,
  id: number,
  opts: { readonly handlers: string },
): Promise<void> {
  const module = await loadHandlersModule(opts.handlers)
  await withDatabase(
    ctx,
    openForWriting(ctx, dir, {
      does: 'dlq retry applies the event to the projection',
      instead: 'call db.deadLetters.retry() in the application',
    }),
    async (db) => {
      const row = await db.deadLetters.get(id)
      if (row === undefined) throw notFound(id)
      const options = projectorOptionsOf(module, row.projector)
      if (module.migrations.length > 0) await db.migrate(module.migrations)
      db.projector({ ...options, name: row.projector })
      const result = await db.deadLetters.retry(id)
      const after = result.applied ? undefined : await db.deadLetters.get(id)
      const report = {
        id,
        projector: row.projector,
        eventId: row.eventId,
        applied: result.applied,
        ...(result.applied
          ? {}
          : { status: result.status ?? after?.status ?? null, error: result.error?.message ?? null }),
      }
      if (ctx.json) ctx.printJson(report)
      else if (result.applied)
        ctx.print(ctx.colors.green(`dead letter ${id} applied (event ${row.eventId}); row removed`))
      else ctx.print(ctx.colors.red(`dead letter ${id} failed again: ${report.error ?? 'unknown error'}`))
      if (!result.applied) ctx.problem()
    },
  )
}

/** `azothdb dlq remove <dir> <id>`: deletes the row for good (the event stays in the log). */
export async function dlqRemoveCommand(ctx: CliContext, dir: string, id: number): Promise<void> {
  await withDatabase(
    ctx,
    openForWriting(ctx, dir, {
      does: 'dlq remove deletes from the projection',
      instead: 'call db.deadLetters.remove() in the application',
    }),
    async (db) => {
      if (!(await db.deadLetters.remove(id))) throw notFound(id)
    },
  )
  if (ctx.json) ctx.printJson({ id, removed: true })
  else ctx.print(`dead letter ${id} removed`)
}
