// 512 concurrent callers over a few hot keys, with readers in other processes: no deadlock (every
// caller finishes, no LOCK_TIMEOUT), no lost update (each counter equals its acknowledged
// increments), money conserved in every reader's snapshot, and memory bounded.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { Summary } from '../src/summary.js'
import { collectLines, kill } from './support/child-lines.js'
import { profile, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'load'))

const CALLERS = 512
/** Far above what 512 callers need (node, LMDB, SQLite and the queue), far below a leak per transaction. */
const RSS_LIMIT_MIB = 512
const WRITER = new URL('../fixtures/load-writer.ts', import.meta.url)
const READER = new URL('../fixtures/load-reader.ts', import.meta.url)

function resultOf(lines: string[]): Record<string, unknown> | undefined {
  const line = lines.find((l) => l.startsWith('result '))
  return line === undefined ? undefined : JSON.parse(line.slice('result '.length))
}

describe.each(['lmdb', 'file'] as const)('load (eventLog %s)', (eventLog) => {
  it(
    `${CALLERS} callers over hot keys, 2 reader processes`,
    async () => {
      const tally = summary.tally('load', eventLog)
      const dir = join(tempDir(), 'db')
      const readers: ReturnType<typeof collectLines>[] = []
      const writer = spawnTypeScript(WRITER, [
        dir,
        eventLog,
        String(CALLERS),
        String(profile.loadRoundsPerCaller),
      ])
      const deadline = setTimeout(() => kill(writer), profile.name === 'long' ? 1_500_000 : 180_000)
      let reading = 0
      const go = () => {
        if (++reading === 2) writeFileSync(`${dir}.go`, '')
      }
      const written = await collectLines(writer, (line) => {
        if (line !== 'ready') return
        for (let i = 0; i < 2; i++) {
          let started = false
          const lines = collectLines(spawnTypeScript(READER, [dir]), (l) => {
            if (l !== 'reading') return
            started = true
            go()
          })
          // A reader that dies before reading is reported below; the writer must not wait for it.
          void lines.then(() => {
            if (!started) go()
          })
          readers.push(lines)
        }
      })
      clearTimeout(deadline)
      writeFileSync(`${dir}.stop`, '')
      const read = await Promise.all(readers)
      const w = resultOf(written.lines) as
        | {
            increments: number[]
            finalCounters: number[]
            transfers: number
            refused: number
            errors: string[]
            errorCount: number
            total: string
            peakRssMiB: number
            head: number
          }
        | undefined
      expect(
        w,
        `the writer did not finish (deadlock?): ${written.signal ?? written.code} ${written.stderr.slice(-1500)}`,
      ).toBeDefined()
      tally.inputsTried += CALLERS * profile.loadRoundsPerCaller
      const problems: string[] = [...w!.errors]
      if (JSON.stringify(w!.finalCounters) !== JSON.stringify(w!.increments)) {
        tally.lost += w!.increments.reduce((a, b) => a + b, 0) - w!.finalCounters.reduce((a, b) => a + b, 0)
        problems.push(`lost updates: counters ${w!.finalCounters}, acknowledged increments ${w!.increments}`)
      }
      if (w!.total !== '8000') problems.push(`money not conserved: ${w!.total}`)
      const committed = w!.increments.reduce((a, b) => a + b, 0) + w!.transfers
      if (w!.head !== committed) problems.push(`head ${w!.head}, ${committed} acknowledged transactions`)
      if (w!.peakRssMiB > RSS_LIMIT_MIB) problems.push(`peak RSS ${w!.peakRssMiB} MiB over ${RSS_LIMIT_MIB}`)
      expect(read).toHaveLength(2)
      for (const r of read) {
        const result = resultOf(r.lines) as { reads: number; violations: string[] } | undefined
        if (result === undefined)
          problems.push(`a reader died: ${r.signal ?? r.code} ${r.stderr.slice(-800)}`)
        else {
          problems.push(...result.violations)
          if (result.reads === 0) problems.push('a reader never read')
          tally.invariantChecks += result.reads
        }
      }
      console.log(
        `load ${eventLog}: ${committed} transactions by ${CALLERS} callers, ${w!.refused} refused, peak RSS ${w!.peakRssMiB} MiB`,
      )
      expect(problems).toEqual([])
      tally.invariantChecks += 4
    },
    profile.name === 'long' ? 1_800_000 : 240_000,
  )
})
