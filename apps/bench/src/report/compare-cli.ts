/**
 * `pnpm bench:compare OLD.json NEW.json [--noise-floor 0.05]`: compares two saved bench reports
 * and exits 1 when a figure regressed beyond the run-to-run noise, 0 otherwise, 2 on bad input.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { describeError } from '../harness.js'
import { compareReports, DEFAULT_NOISE_FLOOR, formatComparison, hasRegression } from './compare.js'
import { fromInvocationDir } from './invocation-dir.js'
import { loadReport } from './load-report.js'

const USAGE = `usage: pnpm bench:compare OLD.json NEW.json [--noise-floor F]

  Compares Azoth's median of every case present in both reports. A case regressed when the new
  median is lower by more than max(min–max spread of the old runs, of the new runs, F) of the old
  median (F defaults to ${DEFAULT_NOISE_FLOOR}). Exit 0: nothing regressed; 1: something regressed or
  stopped working; 2: bad input.`

/** Runs the command; returns the exit code. */
export async function compareMain(
  argv: readonly string[],
  io: { out(text: string): void; err(text: string): void },
): Promise<number> {
  let oldPath: string
  let newPath: string
  let floor = DEFAULT_NOISE_FLOOR
  try {
    const { values, positionals } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      allowPositionals: true,
      strict: true,
      options: { 'noise-floor': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
    if (values.help === true) {
      io.out(USAGE)
      return 0
    }
    if (positionals.length !== 2) throw new Error(`expected two report files, got ${positionals.length}`)
    ;[oldPath, newPath] = positionals as [string, string]
    if (values['noise-floor'] !== undefined) {
      floor = Number(values['noise-floor'])
      if (!(floor >= 0 && floor < 1))
        throw new Error(`--noise-floor must be in [0, 1), got '${values['noise-floor']}'`)
    }
  } catch (e) {
    io.err(`bench:compare: ${describeError(e)}\n${USAGE}`)
    return 2
  }
  try {
    const [before, after] = await Promise.all([
      loadReport(fromInvocationDir(oldPath)),
      loadReport(fromInvocationDir(newPath)),
    ])
    const comparison = compareReports(before, after, floor)
    io.out(formatComparison(comparison))
    return hasRegression(comparison) ? 1 : 0
  } catch (e) {
    io.err(`bench:compare: ${describeError(e)}`)
    return 2
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await compareMain(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  })
}
