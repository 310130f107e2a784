import type { CliContext } from '../cli-context.js'
import { keyArgument } from '../key-argument.js'
import { openForReading, withDatabase } from '../open-database.js'
import { keyJson, keyText, valueJson, valueText } from '../state-format.js'
import { table } from '../tables.js'

export interface ScanOptions {
  readonly prefix?: string
  readonly hex?: boolean
  readonly limit: number
}

/** `azothdb scan <dir> --prefix p --limit n`: entries in key order, a table or JSON lines. */
export async function scanCommand(ctx: CliContext, dir: string, opts: ScanOptions): Promise<void> {
  const prefix = keyArgument(opts.prefix ?? '', opts.hex)
  await withDatabase(ctx, openForReading(ctx, dir), async (db) => {
    const t = ctx.json ? undefined : table(ctx, ['key', 'kind', 'value'])
    let shown = 0
    let more = false
    for (const { key, value } of db.scan(prefix)) {
      if (shown === opts.limit) {
        more = true
        break
      }
      shown++
      if (t === undefined) ctx.printJson({ ...keyJson(key), kind: value.kind, value: valueJson(value) })
      else t.push([keyText(key), value.kind, valueText(value)])
    }
    if (t === undefined) return
    ctx.print(t.toString())
    const what = `${shown} entr${shown === 1 ? 'y' : 'ies'}`
    ctx.note(ctx.errorColors.dim(more ? `${what} shown; more with --limit` : what))
  })
}
