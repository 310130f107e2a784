// The child side of section-process.ts: runs one section and writes its results as JSON.
// argv: <section name> <section file> <run options as JSON> <output file>

import { writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { progressLine } from './cli.js'
import { loadSection } from './discover.js'
import { type CaseResult, type RunOptions, runSection } from './harness.js'

const [name, path, optionsJson, out] = process.argv.slice(2)
if (name === undefined || path === undefined || optionsJson === undefined || out === undefined) {
  process.stderr.write('usage: section-child <name> <file> <options json> <output file>\n')
  process.exit(2)
}
const options = JSON.parse(optionsJson) as Omit<RunOptions, 'onCase' | 'onTmpDir'>
const section = await loadSection({ name, path })
const finished: CaseResult[] = []
const result = await runSection(section, {
  ...options,
  // If this process is killed, the parent removes the directory its finally block never will.
  onTmpDir: (dir) => writeFileSync(`${out}.tmpdir`, dir),
  onCase: (sectionName, c) => {
    process.stderr.write(`${progressLine(sectionName, c)}\n`)
    // What is measured so far, for the parent to keep if this process dies or is killed later.
    finished.push(c)
    writeFileSync(
      `${out}.partial`,
      JSON.stringify({ name: section.name, description: section.description, cases: finished }),
    )
  },
})
await writeFile(out, JSON.stringify(result))
// Sections may leave helpers (worker threads, timers) behind: this process has done its job.
process.exit(0)
