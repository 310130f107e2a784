import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { AzothError } from '@azothdb/core'

const CHILD = fileURLToPath(new URL('./commit-loop-child.ts', import.meta.url))
const TSCONFIG = fileURLToPath(new URL('../../../../tsconfig.base.json', import.meta.url))
// tsx's loader as an absolute URL, so the child finds it whatever its working directory (and also
// when this runs under vitest, whose process has no loader flag to pass on).
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
/** How long the writer must take to say it is committing before it counts as hung. */
const READY_TIMEOUT_MS = 60_000

/**
 * Starts a child that opens the database in `dir` and commits from 64 callers in a loop, waits
 * until it has acknowledged a few hundred commits, lets it run `loadMs` more, then SIGKILLs it and
 * resolves once the process is gone: the directory is left as a crash mid-commit-load leaves it.
 */
export async function killWriterMidLoad(dir: string, keys: number, loadMs = 50): Promise<void> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD, dir, String(keys)], {
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  // A child that could not be spawned emits 'error' and never 'exit'.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new AzothError('TIMEOUT', `the writer child did not start committing on ${dir}`)),
        READY_TIMEOUT_MS,
      )
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(
          new AzothError(
            'IO',
            `the writer child exited (${code ?? signal}) before it was killed: ${stderr}`,
            {
              details: { dir, code, signal },
            },
          ),
        )
      })
    })
    await new Promise((resolve) => setTimeout(resolve, loadMs))
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}
