import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Azoth } from 'azothdb'
import type { CliContext } from '../cli-context.js'
import { openForReading, withDatabase } from '../open-database.js'
import { type ProjectorPosition, projectorPositions } from '../projector-cursors.js'
import { bytesUsed, formatBytes } from '../sizes.js'
import { detailsTable, table } from '../tables.js'

/** What `azothdb status` reports (its `--json` object). */
export interface DatabaseStatus {
  readonly dir: string
  /** The directory layout version recorded in `azoth.json`. */
  readonly format: number | null
  readonly createdAt: string | null
  readonly eventLog: 'lmdb' | 'file'
  readonly head: number
  /** Whether the writer takes commits: paused (commits wait) and sealed (refused from `sealedAt`). */
  readonly ingestion: {
    readonly paused: boolean
    readonly sealedAt: number | null
    /** When the writer entered this state (ISO 8601), or null when it takes commits. */
    readonly since: string | null
  }
  readonly keys: number
  /** Bytes per component, as the files' lengths. */
  readonly disk: {
    readonly canonical: number
    readonly events: number
    readonly projection: number
    readonly total: number
  }
  readonly projectors: readonly ProjectorPosition[]
  readonly deadLetters: { readonly pending: number; readonly retrying: number; readonly permanent: number }
  /** What needs the operator's attention; the exit code is 1 when there is any. */
  readonly problems: readonly string[]
}

/** `azoth.json` was already checked by the open; only its informative fields are read here. */
function creationRecord(dir: string): { format: number | null; createdAt: string | null } {
  const parsed = JSON.parse(readFileSync(join(dir, 'azoth.json'), 'utf8')) as Record<string, unknown>
  return {
    format: typeof parsed.format === 'number' ? parsed.format : null,
    createdAt: typeof parsed.createdAt === 'string' && parsed.createdAt !== '' ? parsed.createdAt : null,
  }
}

function countKeys(db: Azoth): number {
  let keys = 0
  for (const _ of db.scan('')) keys++
  return keys
}

async function readStatus(db: Azoth): Promise<DatabaseStatus> {
  const head = db.head()
  const ingestion = db.ingestionState()
  const metrics = await db.metrics()
  const projectors = await projectorPositions(db, head)
  const deadLetters = metrics.deadLetters
  const problems: string[] = []
  const parked = deadLetters.pending + deadLetters.retrying + deadLetters.permanent
  if (parked > 0) problems.push(`${parked} dead letter${parked === 1 ? '' : 's'} (azothdb dlq list)`)
  const projection = ['projection.db', 'projection.db-wal', 'projection.db-shm', 'projection.db-seal']
  return {
    dir: db.dir,
    ...creationRecord(db.dir),
    eventLog: db.eventLogKind,
    head,
    ingestion: {
      paused: ingestion.paused,
      sealedAt: ingestion.sealedAt ?? null,
      since: ingestion.since ?? null,
    },
    keys: countKeys(db),
    disk: {
      canonical: bytesUsed(join(db.dir, 'canonical')),
      events: bytesUsed(join(db.dir, 'events')),
      projection: projection.reduce((sum, f) => sum + bytesUsed(join(db.dir, f)), 0),
      total: bytesUsed(db.dir),
    },
    projectors,
    deadLetters: {
      pending: deadLetters.pending,
      retrying: deadLetters.retrying,
      permanent: deadLetters.permanent,
    },
    problems,
  }
}

function printStatus(ctx: CliContext, s: DatabaseStatus): void {
  const c = ctx.colors
  const d = s.disk
  ctx.print(c.bold(`Azoth database ${s.dir}`))
  ctx.print(
    detailsTable(ctx, [
      ['format', `${s.format ?? '?'}${s.createdAt === null ? '' : ` (created ${s.createdAt})`}`],
      ['event log', s.eventLog],
      ['head', String(s.head)],
      ['ingestion', describeIngestion(ctx, s.ingestion)],
      ['keys', String(s.keys)],
      [
        'disk',
        `${formatBytes(d.total)} (canonical ${formatBytes(d.canonical)}, ` +
          `${s.eventLog === 'file' ? `events ${formatBytes(d.events)}, ` : ''}projection ${formatBytes(d.projection)})`,
      ],
      [
        'dead letters',
        `${s.deadLetters.pending} pending, ${s.deadLetters.retrying} retrying, ${s.deadLetters.permanent} permanent`,
      ],
    ]),
  )
  if (s.projectors.length === 0) ctx.print('no projector has recorded a cursor yet')
  else {
    const t = table(ctx, ['projector', 'cursor', 'lag', 'state', 'dead letters'])
    for (const p of s.projectors) {
      const state = p.state === 'caughtUp' ? c.green('caught up') : c.yellow(`${p.lag} behind`)
      t.push([p.name, String(p.cursor), String(p.lag), state, String(p.deadLetters)])
    }
    ctx.print(t.toString())
  }
  for (const problem of s.problems) ctx.print(c.red(`problem: ${problem}`))
}

function describeIngestion(ctx: CliContext, i: DatabaseStatus['ingestion']): string {
  const states = [
    ...(i.paused ? ['paused (new commits wait)'] : []),
    ...(i.sealedAt === null ? [] : [`sealed at event ${i.sealedAt} (new commits are refused)`]),
  ]
  if (states.length === 0) return ctx.colors.green('taking commits')
  return ctx.colors.yellow(`${states.join(', ')}${i.since === null ? '' : ` since ${i.since}`}`)
}

/** `azothdb status <dir>`: the database at a glance; exit code 1 when something needs attention. */
export async function statusCommand(ctx: CliContext, dir: string): Promise<void> {
  const status = await withDatabase(ctx, openForReading(ctx, dir), readStatus)
  if (ctx.json) ctx.printJson(status)
  else printStatus(ctx, status)
  if (status.problems.length > 0) ctx.problem()
}
