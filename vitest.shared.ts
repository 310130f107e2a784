import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Tests run against the TypeScript sources of our packages, never a build.
const root = fileURLToPath(new URL('.', import.meta.url))

// More specific names first: an alias also matches the subpaths of its name.
export const sourceAliases: Record<string, string> = {
  '@azothdb/core/internal': `${root}packages/core/src/internal.ts`,
  '@azothdb/core': `${root}packages/core/src/index.ts`,
  '@azothdb/store-lmdb': `${root}packages/store-lmdb/src/index.ts`,
  '@azothdb/store-filelog': `${root}packages/store-filelog/src/index.ts`,
  '@azothdb/projection-sqlite': `${root}packages/projection-sqlite/src/index.ts`,
  '@azothdb/projection-postgres': `${root}packages/projection-postgres/src/index.ts`,
  '@azothdb/projection-conformance': `${root}packages/projection-conformance/src/index.ts`,
  '@azothdb/projector': `${root}packages/projector/src/index.ts`,
  '@azothdb/emmett': `${root}packages/emmett/src/index.ts`,
  '@azothdb/relay-nats': `${root}packages/relay-nats/src/index.ts`,
  '@azothdb/opentelemetry': `${root}packages/opentelemetry/src/index.ts`,
  'azothdb/testing': `${root}packages/azothdb/src/testing.ts`,
  azothdb: `${root}packages/azothdb/src/index.ts`,
}

// tsx's loader as an absolute URL, so a child started in any working directory finds it.
const tsxLoader = import.meta.resolve('tsx')

/** How a TypeScript child runs: where, with which extra environment, and its stdio. */
export interface TypeScriptChildOptions {
  /** Working directory (default: the repository root). */
  readonly cwd?: string
  /** Added to (or, with `undefined` values, removed from) the parent's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly stdio?: SpawnOptions['stdio']
}

/**
 * Runs a TypeScript file in a child process: node itself with tsx as a loader, never the tsx CLI,
 * which runs the script in a grandchild that SIGKILL misses (and that, orphaned and unreaped, keeps
 * a directory lock looking alive). `azothdb` and `@azothdb/*` resolve to their sources through the
 * paths of tsconfig.base.json.
 */
export function spawnTypeScript(
  file: string | URL,
  args: readonly string[] = [],
  options: TypeScriptChildOptions = {},
): ChildProcess {
  const path = typeof file === 'string' ? file : fileURLToPath(file)
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: `${root}tsconfig.base.json` }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return spawn(process.execPath, ['--import', tsxLoader, path, ...args], {
    cwd: options.cwd ?? root,
    env,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  })
}

/** Output and exit code of a finished child. */
export interface TypeScriptRun {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
}

/** Runs a TypeScript file to completion (see {@link spawnTypeScript}), whatever its exit code. */
export function runTypeScript(
  file: string | URL,
  args: readonly string[] = [],
  options: TypeScriptChildOptions = {},
): Promise<TypeScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawnTypeScript(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ stdout, stderr, code }))
  })
}

/** Resolves once the child has exited (and been reaped). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Hands each line the child prints to `onLine`; once it prints `ready`, SIGKILLs it after a random
 * `minMs` to `minMs + spreadMs`. Resolves when it died of that kill; rejects (with its stderr) when
 * it exited any other way.
 */
export async function killWhileRunning(
  child: ChildProcess,
  onLine: (line: string) => void,
  delay: { minMs: number; spreadMs: number },
): Promise<void> {
  let buffer = ''
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line === 'ready') {
          setTimeout(() => child.kill('SIGKILL'), delay.minMs + Math.floor(Math.random() * delay.spreadMs))
        } else onLine(line)
      }
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve()
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
  await exited(child)
}
