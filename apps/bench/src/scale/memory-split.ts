import { readFileSync } from 'node:fs'
import type { Case, Measure } from '../harness.js'

const MIB = 1024 * 1024

/**
 * The process's resident memory split as Linux counts it (`/proc/self/status`): `RssAnon` is heap
 * and other private memory, the part data size must not grow; `RssFile` is mapped file pages
 * (LMDB's map, the native modules), page cache the kernel evicts under pressure. Undefined off Linux.
 */
export function rssSplit(): { anon: number; file: number } | undefined {
  let status: string
  try {
    status = readFileSync('/proc/self/status', 'utf8')
  } catch {
    return undefined
  }
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { anon: kib('RssAnon') * 1024, file: kib('RssFile') * 1024 }
}

function withSplit(measure: Measure): Measure {
  let anon = 0
  let file = 0
  return {
    ...measure,
    run: async () => {
      const units = await measure.run()
      // Read after each run (a synchronous run gives a timer no chance to sample it meanwhile).
      const split = rssSplit()
      if (split !== undefined) {
        anon = Math.max(anon, split.anon)
        file = Math.max(file, split.file)
      }
      return units
    },
    report: () => ({
      ...measure.report?.(),
      ...(anon > 0 ? { rssAnonMiB: Math.round(anon / MIB), rssFileMiB: Math.round(file / MIB) } : {}),
    }),
  }
}

/** `c` with each side reporting the largest anonymous and file-backed RSS seen after its runs. */
export function withMemorySplit(c: Case): Case {
  return { ...c, ours: withSplit(c.ours), ...(c.raw === undefined ? {} : { raw: withSplit(c.raw) }) }
}
