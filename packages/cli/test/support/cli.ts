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

/** Resolves with the first stdout line that `match` accepts (all output so far is kept in `seen`). */
export function waitForLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  seen: string[] = [],
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    const onData = (d: Buffer): void => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        seen.push(line)
        if (match(line)) {
          child.stdout?.off('data', onData)
          resolve(line)
          return
        }
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`exited with ${code} before the line; saw:\n${seen.join('\n')}`)),
    )
  })
}
