import Table from 'cli-table3'
import type { CliContext } from './cli-context.js'

/**
 * A bordered table for a bounded set of rows. cli-table3 would colour headers red through its own
 * colour library whatever the terminal; styles are off and headers go through the context's
 * colours instead (none off a terminal or with `NO_COLOR`).
 */
export function table(ctx: CliContext, headers: readonly string[]): Table.Table {
  return new Table({
    head: headers.map((h) => ctx.colors.bold(h)),
    // compact: a line under the header, none between rows, so one screen shows more of them.
    style: { head: [], border: [], compact: true },
  })
}

/** A two-column table of labelled values, for one object (a status, a summary). */
export function detailsTable(ctx: CliContext, rows: readonly (readonly [string, string])[]): string {
  const t = new Table({ style: { head: [], border: [], compact: true } })
  for (const [label, value] of rows) t.push([ctx.colors.bold(label), value])
  return t.toString()
}

const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: ' ',
}

/**
 * Rows printed one at a time in fixed-width columns, for output that streams (events, `--follow`)
 * and so cannot wait for the widest cell. The last column takes what the terminal has left; off a
 * terminal it is wide, since nobody reads it on a narrow screen. Cells too wide end in `…`.
 */
export class StreamingTable {
  readonly #ctx: CliContext
  readonly #widths: number[]

  constructor(ctx: CliContext, headers: readonly string[], widths: readonly number[]) {
    this.#ctx = ctx
    const used = widths.reduce((a, b) => a + b + 1, 0)
    const columns = process.stdout.isTTY === true ? (process.stdout.columns ?? 120) : 200
    this.#widths = [...widths, Math.max(20, columns - used - 1)]
    this.#print(headers.map((h) => ctx.colors.bold(h)))
  }

  /** Prints one row (as many cells as headers). */
  row(cells: readonly string[]): void {
    this.#print(cells)
  }

  #print(cells: readonly string[]): void {
    const t = new Table({
      chars: NO_BORDERS,
      colWidths: this.#widths,
      wordWrap: false,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    })
    t.push([...cells])
    this.#ctx.print(t.toString().trimEnd())
  }
}
