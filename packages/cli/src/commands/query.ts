import type { CliContext } from '../cli-context.js'
import { jsonSafe } from '../json-safe.js'
import { openForReading, withDatabase } from '../open-database.js'
import { table } from '../tables.js'

function cellText(ctx: CliContext, value: unknown): string {
  if (value === null || value === undefined) return ctx.colors.dim('NULL')
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`
  if (typeof value === 'object') return JSON.stringify(jsonSafe(value))
  return String(value)
}

/**
 * `azothdb query <dir> "<sql>"`: a query on the projection through a read-only connection (a
 * statement that writes fails), the rows as a table or JSON lines.
 */
export async function queryCommand(ctx: CliContext, dir: string, sql: string): Promise<void> {
  const rows = await withDatabase(ctx, openForReading(ctx, dir), (db) => db.query(sql))
  if (ctx.json) {
    for (const row of rows) ctx.printJson(row)
    return
  }
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  if (columns.length > 0) {
    const t = table(ctx, columns)
    for (const row of rows) t.push(columns.map((c) => cellText(ctx, row[c])))
    ctx.print(t.toString())
  }
  ctx.note(ctx.errorColors.dim(`${rows.length} row${rows.length === 1 ? '' : 's'}`))
}
