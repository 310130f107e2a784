import type { CliContext } from './cli-context.js'
import { detailsTable } from './tables.js'

/** The one-screen summary that ends a backup or a restore: a title and labelled values. */
export function printSummary(
  ctx: CliContext,
  title: string,
  rows: readonly (readonly [string, string])[],
): void {
  ctx.print(ctx.colors.bold(ctx.colors.green(title)))
  ctx.print(detailsTable(ctx, rows))
}

/** `balances 120, audit 118`, or `none`. */
export function cursorsText(cursors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(cursors)
  return entries.length === 0 ? 'none' : entries.map(([name, cursor]) => `${name} ${cursor}`).join(', ')
}
