import Table from 'cli-table3'

/** Prints SQL rows as a table, columns in the order of the first row. */
export function printTable(title: string, rows: readonly Record<string, unknown>[]): void {
  console.log(`\n${title}`)
  const first = rows[0]
  if (first === undefined) {
    console.log('  (no rows)')
    return
  }
  const head = Object.keys(first)
  const table = new Table({ head, style: { head: [], border: [] } })
  for (const row of rows) table.push(head.map((column) => formatCell(row[column])))
  console.log(table.toString())
}

function formatCell(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2)
  if (value === null || value === undefined) return ''
  return String(value)
}
