import { CommanderError } from 'commander'
import { colorsFor } from './colors.js'
import { EXIT, type ExitCode } from './exit-codes.js'
import { Interruption } from './interruption.js'
import { buildProgram, type ProgramRun } from './program.js'
import { UsageError } from './usage-error.js'

/** The error's causes, outermost first, each with its stack: what `--verbose` adds. */
function describeChain(error: unknown): string {
  const lines: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    lines.push(
      depth === 0
        ? String((current as Error)?.stack ?? current)
        : `caused by: ${String((current as Error)?.stack ?? current)}`,
    )
    current = (current as { cause?: unknown })?.cause
  }
  return lines.join('\n')
}

/**
 * One line for the operator: the error code and its sentence (`LOCKED: ...`). Errors that are not
 * Azoth's (a handler module's own) show their Node code or `ERROR`.
 */
async function reportError(error: unknown, verbose: boolean): Promise<void> {
  const { isAzothError } = await import('azothdb')
  const c = colorsFor(process.stderr)
  const code = isAzothError(error)
    ? error.code
    : typeof (error as { code?: unknown })?.code === 'string'
      ? String((error as { code: string }).code)
      : 'ERROR'
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`${c.red(`azothdb: ${code}:`)} ${message}\n`)
  if (verbose) process.stderr.write(`${c.dim(describeChain(error))}\n`)
}

/**
 * Runs the `azothdb` command line (`argv` without node and the script) and returns the exit code:
 * 0 ok, 1 a problem found or an operation failed, 2 bad usage. An `argv` that is not an array of
 * strings is refused with `INVALID_ARGUMENT`.
 *
 * @example
 * process.exitCode = await main(['status', './data', '--json'])
 */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
    const { AzothError } = await import('azothdb')
    throw new AzothError('INVALID_ARGUMENT', 'main(argv): argv must be an array of strings')
  }
  const run: ProgramRun = { exitCode: undefined }
  const interruption = new Interruption()
  const program = buildProgram(run, interruption)
  const release = interruption.install()
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return run.exitCode ?? EXIT.ok
  } catch (e) {
    // Commander already printed its message (and the usage hint); help and --version end with 0.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage
    if (e instanceof UsageError) {
      process.stderr.write(
        `${colorsFor(process.stderr).red('error:')} ${e.message}\n(add --help for usage)\n`,
      )
      return EXIT.usage
    }
    await reportError(e, argv.includes('--verbose'))
    return EXIT.problem
  } finally {
    release()
  }
}
