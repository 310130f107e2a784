import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type CommandResult, consumerEnv, run } from './command.js'
import type { Tarball } from './pack.js'
import { repoRoot } from './workspace.js'

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

/**
 * `npm install` from the registry (our packages from their tarballs), with install scripts off:
 * better-sqlite3's script would download a prebuilt binary (unreachable here) and then compile
 * SQLite for minutes. The native addons are the registry's own packages, not what this test
 * checks, so the one that needs a build gets the binary the workspace built for the same version
 * and Node ABI (`adoptBuiltAddons`); lmdb, cbor-extract and fs-native-extensions load the
 * prebuilt binaries their packages ship.
 */
export async function npmInstall(project: ConsumerProject): Promise<CommandResult> {
  const result = await run(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: project.dir,
      env: consumerEnv(),
      timeoutMs: 300_000,
    },
  )
  if (result.code === 0) adoptBuiltAddons(project)
  return result
}

/** Native addons whose binary the workspace built from source: package name → the binary's directory. */
const BUILT_ADDONS: Readonly<Record<string, string>> = { 'better-sqlite3': 'build/Release' }

function adoptBuiltAddons(project: ConsumerProject): void {
  const workspaceRequire = createRequire(join(repoRoot, 'packages/projection-sqlite/package.json'))
  for (const [name, binaryDir] of Object.entries(BUILT_ADDONS)) {
    const target = join(project.dir, 'node_modules', name)
    if (!existsSync(target)) continue
    const source = dirname(workspaceRequire.resolve(`${name}/package.json`))
    const version = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
    if (version(source) !== version(target))
      throw new Error(
        `${name}: the consumer installed ${version(target)}, the workspace built ${version(source)}`,
      )
    cpSync(join(source, binaryDir), join(target, binaryDir), { recursive: true })
  }
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
