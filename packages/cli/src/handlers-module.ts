import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as azothdb from 'azothdb'
import { AzothError, type Migration, type ProjectorOptions, type SqlEventHandler } from 'azothdb'

/** A loaded `--handlers` module: each projector's options by name, and the migrations to apply first. */
export interface HandlersModule {
  readonly path: string
  readonly projectors: ReadonlyMap<string, Omit<ProjectorOptions, 'name'>>
  readonly migrations: readonly Migration[]
}

function invalid(path: string, why: string, cause?: unknown): AzothError {
  return new AzothError('INVALID_ARGUMENT', `the handlers module ${path} ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path },
  })
}

/**
 * Imports the ES module given with `--handlers`. Its default export maps projector names to handler
 * arrays (or to `db.projector()` options without `name`, e.g. with an `errorStrategy`), or is a
 * function, possibly async, returning that map. The function is given the `azothdb` module this
 * command runs on, so `ErrorStrategy` and friends come from the same copy as the database (a
 * module outside any project needs no `azothdb` of its own). An optional named export `migrations` lists the
 * projection migrations to apply before running (what the application's `db.migrate()` applies).
 * The handlers themselves are checked by `db.projector()`, which raises `CONFIG` naming the problem.
 */
export async function loadHandlersModule(path: string): Promise<HandlersModule> {
  const absolute = resolve(path)
  let mod: { default?: unknown; migrations?: unknown }
  try {
    mod = (await import(pathToFileURL(absolute).href)) as typeof mod
  } catch (e) {
    throw invalid(path, `could not be loaded: ${(e as Error).message ?? String(e)}`, e)
  }
  let spec = mod.default
  if (typeof spec === 'function') {
    try {
      spec = await (spec as (api: typeof azothdb) => unknown)(azothdb)
    } catch (e) {
      throw invalid(path, `default export threw: ${(e as Error).message ?? String(e)}`, e)
    }
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw invalid(
      path,
      'must export by default an object mapping projector names to handler arrays (or a function returning one)',
    )
  }
  const projectors = new Map<string, Omit<ProjectorOptions, 'name'>>()
  for (const [name, value] of Object.entries(spec)) {
    if (Array.isArray(value)) projectors.set(name, { handlers: value as SqlEventHandler[] })
    else if (value !== null && typeof value === 'object')
      projectors.set(name, value as Omit<ProjectorOptions, 'name'>)
    else throw invalid(path, `gives projector '${name}' neither a handler array nor projector options`)
  }
  if (projectors.size === 0) throw invalid(path, 'defines no projector')
  const migrations = mod.migrations ?? []
  if (!Array.isArray(migrations)) throw invalid(path, 'exports `migrations` that is not an array')
  return { path: absolute, projectors, migrations: migrations as Migration[] }
}

/** The options the module gives projector `name`; `NOT_FOUND` when it defines none by that name. */
export function projectorOptionsOf(module: HandlersModule, name: string): Omit<ProjectorOptions, 'name'> {
  const options = module.projectors.get(name)
  if (options === undefined) {
    throw new AzothError(
      'NOT_FOUND',
      `the handlers module defines no projector '${name}' (it defines ${[...module.projectors.keys()].join(', ')})`,
      { details: { projector: name, path: module.path } },
    )
  }
  return options
}

/** The projectors a command acts on: the one `--name` picks, or every one the module defines. */
export function selectProjectors(
  module: HandlersModule,
  name: string | undefined,
): [string, Omit<ProjectorOptions, 'name'>][] {
  return name === undefined ? [...module.projectors] : [[name, projectorOptionsOf(module, name)]]
}
