// A throwaway PostgreSQL server for a bench section: initdb into a temp directory, pg_ctl start on
// loopback with a free port (fsync on, as in production), stop and remove everything afterwards.
// The tests have their own (packages/projection-postgres/test/support); src/ may not import tests.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Where the server binaries are: PATH first, then Debian's versioned directories. */
function findBinDir(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' })
  const onPath = which.status === 0 ? which.stdout.trim().replace(/\/pg_ctl$/, '') : ''
  if (onPath !== '' && existsSync(join(onPath, 'initdb'))) return onPath
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const newest = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0]
  return newest === undefined ? undefined : join(root, newest, 'bin')
}

// initdb refuses to run as root: then the server runs as the `postgres` OS user.
const asRoot = userInfo().uid === 0
const binDir = findBinDir()
const hasPostgresUser = !asRoot || spawnSync('id', ['-u', 'postgres']).status === 0

/** Why no server can start here (the reason the section reports), or undefined. */
export const pgUnavailable: string | undefined =
  binDir === undefined
    ? 'PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin (Debian package postgresql)'
    : hasPostgresUser
      ? undefined
      : 'running as root without a `postgres` OS user to run initdb as'

function run(cmd: string, args: readonly string[]): void {
  const argv = asRoot ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args]
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
}

/** A running throwaway server. */
export interface BenchPgServer {
  /** A fresh, empty database on it; returns its connection string. */
  createDatabase(): Promise<string>
  /** Stops it and removes its directory. */
  destroy(): void
}

export async function startPgServer(): Promise<BenchPgServer> {
  if (pgUnavailable !== undefined) throw new Error(pgUnavailable)
  const dir = mkdtempSync(join(tmpdir(), 'azoth-bench-pg-'))
  chmodSync(dir, 0o755)
  if (asRoot) {
    const id = (flag: string): number =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, id('-u'), id('-g'))
  }
  const data = join(dir, 'data')
  const port = await freePort()
  run(join(binDir!, 'initdb'), ['-D', data, '-U', 'azoth', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=on -c synchronous_commit=on`
  run(join(binDir!, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'])
  let databases = 0
  return {
    async createDatabase() {
      const name = `bench_${++databases}`
      const client = new pg.Client({ connectionString: `postgres://azoth@127.0.0.1:${port}/postgres` })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://azoth@127.0.0.1:${port}/${name}`
    },
    destroy() {
      try {
        run(join(binDir!, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
