import type { CliContext } from '../cli-context.js'
import { keyArgument } from '../key-argument.js'
import { openForReading, withDatabase } from '../open-database.js'
import { keyJson, keyText, valueJson, valueText } from '../state-format.js'
import { detailsTable } from '../tables.js'

export interface GetOptions {
  readonly hex?: boolean
}

/** `azothdb get <dir> <key>`: one value, decoded; `NOT_FOUND` (exit 1) when the key has none. */
export async function getCommand(
  ctx: CliContext,
  dir: string,
  keyArg: string,
  opts: GetOptions,
): Promise<void> {
  const key = keyArgument(keyArg, opts.hex)
  await withDatabase(ctx, openForReading(ctx, dir), async (db) => {
    const value = db.get(key)
    if (ctx.json) ctx.printJson({ ...keyJson(key), kind: value.kind, value: valueJson(value) })
    else
      ctx.print(
        detailsTable(ctx, [
          ['key', keyText(key)],
          ['kind', value.kind],
          ['value', valueText(value)],
        ]),
      )
  })
}
