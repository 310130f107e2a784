import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageRoot = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Builds LMDB's own command-line tools from the sources the `lmdb` npm package ships (Debian's
 * lmdb-utils reads only LMDB's older data format) and returns the directory holding them.
 */
export function buildMdbTools(): string {
  // pnpm links the dependency into this package's node_modules.
  const lmdbDir = realpathSync(join(packageRoot, 'node_modules/lmdb'))
  const source = join(lmdbDir, 'dependencies/lmdb/libraries/liblmdb')
  const out = join(packageRoot, 'node_modules/.cache/liblmdb-tools')
  if (!existsSync(join(out, 'mdb_stat')) || !existsSync(join(out, 'mdb_dump'))) {
    mkdirSync(out, { recursive: true })
    cpSync(source, out, { recursive: true })
    execFileSync('make', ['-s', 'mdb_stat', 'mdb_dump'], { cwd: out, stdio: 'pipe' })
  }
  return out
}
