import { fileURLToPath } from 'node:url'
import { runCli } from './cli.js'
import { runSectionInChild } from './section-process.js'

// `pnpm bench [section...] [--quick] [--runs N] [--json FILE]`: see README.md.
const packageDir = fileURLToPath(new URL('..', import.meta.url))

process.exitCode = await runCli(process.argv.slice(2), {
  sectionsDir: fileURLToPath(new URL('./sections/', import.meta.url)),
  outDir: `${packageDir}bench-results`,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  runIsolated: runSectionInChild,
})
