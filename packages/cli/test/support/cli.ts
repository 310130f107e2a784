import type { ChildProcess } from 'node:child_process'
import { runTypeScript, spawnTypeScript, type TypeScriptRun } from '../../../../vitest.shared.js'

const bin = new URL('../../src/bin.ts', import.meta.url)

/** The handlers module the tests give `--handlers` (see fixtures/handlers.mjs). */
export const handlersModule = new URL('../fixtures/handlers.mjs', import.meta.url).pathname

// What the user's shell might set that would change the output under test.
const neutralEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined, AZOTH_LOG_LEVEL: undefined }

/** Runs `azothdb <args>` as a child process (node + tsx on the sources) to completion. */
export function azothdb(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<TypeScriptRun> {
  return runTypeScript(bin, args, { env: { ...neutralEnv, ...env } })
}

/** Starts `azothdb <args>` without waiting for it (for `--follow`). */
export function spawnAzothdb(args: readonly string[]): ChildProcess {
  return spawnTypeScript(bin, args, { env: neutralEnv })
}

/** The path of the bin entry, for running it under a pseudo-terminal. */
export const binPath = bin.pathname

/** Each non-empty line of `--json` output, parsed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** The single JSON object a command printed with `--json`. */
export function jsonObject(stdout: string): Record<string, unknown> {
  const lines = jsonLines(stdout)
  if (lines.length !== 1) throw new Error(`expected one JSON object, got ${lines.length} lines:\n${stdout}`)
  return lines[0]!
}

/**
 * Every stdout line of a child, kept from the moment it is attached (a listener attached later
 * would miss what arrived in between), with a way to wait for the line that matters.
 */
export class OutputLines {
  /** The complete lines so far. */
  readonly lines: string[] = []
  #partial = ''
  #waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []

  constructor(child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      const parts = (this.#partial + d.toString()).split('\n')
      this.#partial = parts.pop() ?? ''
      for (const line of parts) {
        this.lines.push(line)
        const waiting = this.#waiters
        this.#waiters = []
        for (const w of waiting) {
          if (w.match(line)) w.resolve(line)
          else this.#waiters.push(w)
        }
      }
    })
    child.once('exit', (code) => {
      for (const w of this.#waiters.splice(0)) w.resolve(`(exited with ${code})`)
    })
  }

  /** Resolves with the first line, already seen or still to come, that `match` accepts. */
  waitFor(match: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.push({ match, resolve }))
  }
}
