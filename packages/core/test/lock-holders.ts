import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { spawnTypeScript } from '../../../vitest.shared.js'

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const holderScript = fileURLToPath(new URL('./fixtures/hold-process-lock.ts', import.meta.url))

/** A child that prints lines: `ready` (with a go file), then `locked <pid>` or `error <CODE>`. */
export interface Holder {
  readonly child: ChildProcess
  nextLine(): Promise<string>
}

/** Children started by the helpers below; the tests' afterEach kills what is left. */
export const children: ChildProcess[] = []

export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

/** Reads `child`'s stdout line by line; a line of `exited <code>` once it ends. */
export function lineReader(child: ChildProcess): Holder {
  children.push(child)
  const lines: string[] = []
  const waiting: ((line: string) => void)[] = []
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      const w = waiting.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(`exited ${code ?? signal}`)),
  )
  return {
    child,
    nextLine: () => {
      const line = lines.shift()
      if (line !== undefined) return Promise.resolve(line)
      return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited])
    },
  }
}

/** A child holding the lock at `lockPath` through `protocol` ('kernel': acquireProcessLock). */
export function startHolder(
  lockPath: string,
  options: { goFile?: string; protocol?: 'kernel' | 'pid-file'; withChild?: boolean } = {},
): Holder {
  const args = [lockPath, ...(options.goFile === undefined ? [] : [options.goFile])]
  return lineReader(
    spawnTypeScript(holderScript, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        AZOTH_TEST_LOCK: options.protocol === 'pid-file' ? 'pid-file' : undefined,
        AZOTH_TEST_LOCK_CHILD: options.withChild ? '1' : undefined,
      },
    }),
  )
}

/** Like {@link startHolder}, but as pid 1 of a new pid namespace (`unshare`, as root). */
export function startHolderInPidNamespace(lockPath: string): Holder {
  return lineReader(
    spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        process.execPath,
        '--import',
        'tsx',
        holderScript,
        lockPath,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, TSX_TSCONFIG_PATH: `${repoRoot}tsconfig.base.json` },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  )
}

export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
