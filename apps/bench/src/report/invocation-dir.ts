import { resolve } from 'node:path'

/**
 * Resolves a path the user typed against the directory they typed it in. `pnpm --filter ... run`
 * runs the script inside apps/bench, but keeps the caller's directory in `INIT_CWD`; without this,
 * `pnpm bench:compare old.json new.json` at the repository root would look in apps/bench.
 */
export function fromInvocationDir(path: string): string {
  return resolve(process.env['INIT_CWD'] ?? process.cwd(), path)
}
