import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError } from 'azothdb'

/**
 * Bytes used by a file or a directory tree (0 when it does not exist). Sizes are the files' lengths,
 * as `du --apparent-size` counts them: LMDB's map file is sparse, so blocks would say less.
 */
export function bytesUsed(path: string): number {
  let stat: ReturnType<typeof lstatSync>
  try {
    stat = lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw new AzothError('IO', `cannot read the size of ${path}`, { cause: e, details: { path } })
  }
  if (!stat.isDirectory()) return stat.size
  let entries: string[]
  try {
    entries = readdirSync(path)
  } catch (e) {
    throw new AzothError('IO', `cannot list ${path}`, { cause: e, details: { path } })
  }
  let total = 0
  for (const entry of entries) total += bytesUsed(join(path, entry))
  return total
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** `1536` → `1.5 kB` (powers of 1000, as `ls -h --si` and disk vendors count). */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`
}
