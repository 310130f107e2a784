import { type Colors, colorsFor } from './colors.js'
import { EXIT, type ExitCode } from './exit-codes.js'
import type { Interruption } from './interruption.js'
import { toJsonLine } from './json-safe.js'

/** The options every command takes. */
export interface GlobalOptions {
  /** One JSON object (or JSON lines for streams of rows) on stdout instead of tables. */
  readonly json?: boolean
  /** Stack traces on errors, and the database's own log (level `AZOTH_LOG_LEVEL`, default `warn`). */
  readonly verbose?: boolean
}

/** What one run of a command writes to and how: output mode, colours, logger, interruption. */
export class CliContext {
  readonly json: boolean
  readonly verbose: boolean
  /** Colours for stdout: only on a terminal, never with `NO_COLOR`, never in JSON output. */
  readonly colors: Colors
  /** Colours for stderr (errors and hints), by the same rules for that stream. */
  readonly errorColors: Colors
  /** The exit code the command asks for once it returns (an error thrown overrides it). */
  exitCode: ExitCode = EXIT.ok
  readonly #interruption: Interruption

  constructor(options: GlobalOptions, interruption: Interruption) {
    this.json = options.json === true
    this.verbose = options.verbose === true
    this.colors = colorsFor(process.stdout, !this.json)
    this.errorColors = colorsFor(process.stderr)
    this.#interruption = interruption
  }

  /** Writes one line to stdout. */
  print(line = ''): void {
    process.stdout.write(`${line}\n`)
  }

  /** Writes one value as a JSON line to stdout (bigints, bytes, maps made JSON-safe). */
  printJson(value: unknown): void {
    process.stdout.write(`${toJsonLine(value)}\n`)
  }

  /** A note for the operator on stderr (never mixed into stdout, so `--json` output stays parseable). */
  note(line: string): void {
    process.stderr.write(`${line}\n`)
  }

  /** Marks the run as having found a problem: exit code 1 once the output is complete. */
  problem(): void {
    this.exitCode = EXIT.problem
  }

  /**
   * For a command that stops cleanly between steps: aborted by Ctrl-C (SIGINT) or SIGTERM, after
   * which the command closes the database and returns. Commands that never ask end at once.
   */
  interruptSignal(): AbortSignal {
    return this.#interruption.signal()
  }

  /** True once Ctrl-C was pressed. */
  get interrupted(): boolean {
    return this.#interruption.interrupted
  }
}
