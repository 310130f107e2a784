import { spawn } from 'node:child_process'

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** stdout and stderr interleaved as they arrived, for failure reports. */
  readonly output: string
  readonly stdout: string
  readonly timedOut: boolean
}

export interface CommandOptions {
  readonly cwd: string
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
}

/**
 * The environment for commands run in a consumer project: without the `npm_*` variables pnpm sets
 * for its scripts, which npm would otherwise take as its own configuration (the workspace's
 * package name, lifecycle event and user agent leaking into a project that knows nothing of it).
 */
export function consumerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(k) && k !== 'INIT_CWD') env[k] = v
  }
  return { ...env, ...extra }
}

/**
 * Runs a command to completion and never throws for its exit status. It runs in a process group
 * of its own so that a timeout ends it with everything it started (npm's install scripts, a
 * node-gyp build): nothing of a stuck check outlives the pack test.
 */
export function run(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    let stdout = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // The group is already gone: the close event follows.
        }
      }
    }, options.timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({
        code: null,
        signal: null,
        output: `${output}\ncould not start ${command}: ${err.message}`,
        stdout,
        timedOut,
      })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const note = timedOut ? `\n(killed after ${options.timeoutMs} ms)` : ''
      resolve({ code, signal, output: output + note, stdout, timedOut })
    })
  })
}

/** Throws with the command's output unless it exited 0: for steps every later check needs. */
export async function runOrThrow(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.code ?? result.signal}\n${result.output}`,
    )
  }
  return result
}
