// The child side of section-process.ts: runs one section and writes its results as JSON.
// argv: <section name> <section file> <run options as JSON> <output file>

import { writeFile } from 'node:fs/promises'
import { progressLine } from './cli.js'
import { loadSection } from './discover.js'
import { type RunOptions, runSection } from './harness.js'

const [name, path, optionsJson, out] = process.argv.slice(2)
if (name === undefined || path === undefined || optionsJson === undefined || out === undefined) {
  process.stderr.write('usage: section-child <name> <file> <options json> <output file>\n')
  process.exit(2)
}
const options = JSON.parse(optionsJson) as Omit<RunOptions, 'onCase'>
const result = await runSection(await loadSection({ name, path }), {
  ...options,
  onCase: (section, c) => process.stderr.write(`${progressLine(section, c)}\n`),
})
await writeFile(out, JSON.stringify(result))
// Sections may leave helpers (worker threads, timers) behind: this process has done its job.
process.exit(0)
