import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CommandResult, consumerEnv, run } from './command.js'
import type { Tarball } from './pack.js'

/** A fresh npm project outside the workspace that depends on some of our packages only. */
export interface ConsumerProject {
  readonly dir: string
  /** The packages it lists as its own dependencies (what a user would `npm install`). */
  readonly direct: readonly string[]
}

export const fixturesDir = new URL('../fixtures/', import.meta.url)

/**
 * Writes the project's package.json: the direct packages as `file:` tarballs, and every other
 * tarball as an npm override, so what they pull in transitively resolves to our tarballs as it
 * would to the published versions (nothing of ours is taken from the registry).
 */
export function createConsumer(
  dir: string,
  direct: readonly string[],
  tarballs: readonly Tarball[],
  devDependencies: Readonly<Record<string, string>> = {},
): ConsumerProject {
  mkdirSync(dir, { recursive: true })
  const byName = new Map(tarballs.map((t) => [t.pkg.name, t]))
  const dependencies: Record<string, string> = {}
  for (const name of direct) {
    const tarball = byName.get(name)
    if (tarball === undefined) throw new Error(`no tarball for ${name}`)
    dependencies[name] = `file:${tarball.path}`
  }
  const overrides: Record<string, string> = {}
  for (const t of tarballs) if (!direct.includes(t.pkg.name)) overrides[t.pkg.name] = `file:${t.path}`
  const pkg = {
    name: 'azothdb-consumer',
    version: '0.0.0',
    private: true,
    type: 'module',
    dependencies,
    devDependencies,
    overrides,
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  return { dir, direct }
}

/** `npm install` from the registry (our packages from their tarballs); native addons build here. */
export function npmInstall(project: ConsumerProject): Promise<CommandResult> {
  return run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project.dir,
    // better-sqlite3 compiles from source where no prebuilt binary can be downloaded: node-gyp's
    // JOBS lets make compile SQLite and the binding side by side.
    env: consumerEnv({ JOBS: 'max' }),
    timeoutMs: 300_000,
  })
}

/** Copies a file of `fixtures/` into the project (under `as`, default its own name). */
export function addFixture(project: ConsumerProject, name: string, as: string = name): string {
  const target = join(project.dir, as)
  copyFileSync(new URL(name, fixturesDir), target)
  return target
}

/**
 * Runs `node ...args` in `cwd` (inside a consumer project, so bare imports resolve to its
 * node_modules) and fails with its output unless it exits 0.
 */
export async function runNode(cwd: string, args: readonly string[]): Promise<CommandResult> {
  const result = await run(process.execPath, args, { cwd, env: consumerEnv(), timeoutMs: 120_000 })
  if (result.code !== 0)
    throw new Error(`node ${args.join(' ')} exited ${result.code ?? result.signal}\n${result.output}`)
  return result
}
