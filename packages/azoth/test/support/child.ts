import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
// tsx resolves `azoth` and `@azoth/*` to their sources through this tsconfig's paths.
const tsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url))

/**
 * Runs a fixture TypeScript file in a child process: node itself with tsx as a loader, so that
 * SIGKILL hits the process doing the work (the tsx CLI would run it in a grandchild).
 */
export function spawnFixture(name: string, args: string[]): ChildProcess {
  const file = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Runs a fixture to completion and returns its stdout, stderr and exit code. */
export function runFixture(
  name: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnFixture(name, args)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => resolve({ stdout, stderr, code }))
  })
}

/** Resolves once the child has exited (and been reaped). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}
