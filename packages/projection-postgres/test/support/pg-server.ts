// A throwaway PostgreSQL server for tests: initdb into a temp directory, pg_ctl start on loopback
// with a random port and its socket in that directory, stop and remove everything afterwards.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Where the server binaries are: PATH first, then Debian's versioned directories. */
function findBinDir(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' })
  const onPath = which.status === 0 ? which.stdout.trim() : ''
  if (onPath !== '' && existsSync(onPath.replace(/pg_ctl$/, 'initdb'))) return onPath.replace(/\/pg_ctl$/, '')
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

/** The OS user the server runs as: ourselves, or `postgres` when we are root (initdb refuses root). */
function serverUser(): string | undefined {
  if (userInfo().uid !== 0) return userInfo().username
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  return id.status === 0 ? 'postgres' : undefined
}

const binDir = findBinDir()
const user = serverUser()

/**
 * Why PostgreSQL tests cannot run here, or undefined when they can. In CI (`CI=true`) a missing
 * server is a failure, not a skip: `.ci/run` installs it.
 */
export const pgUnavailable: string | undefined =
  binDir === undefined
    ? 'PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin'
    : user === undefined
      ? 'running as root without a `postgres` OS user to run initdb as'
      : undefined

if (pgUnavailable !== undefined && process.env['CI'] === 'true') {
  throw new Error(`PostgreSQL tests must run in CI: ${pgUnavailable}`)
}

/** The processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name (which may hold spaces, in parentheses): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(entry))
    } catch {
      // The process ended while we listed.
    }
  }
  return out
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

function asUser(cmd: string, args: readonly string[]): string {
  const argv = userInfo().uid === 0 ? ['runuser', '-u', user!, '--', cmd, ...args] : [cmd, ...args]
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** A running throwaway server. */
export interface PgServer {
  readonly port: number
  /** A connection string to the test database on it. */
  readonly url: string
  /** Stops it like a crash (`immediate`: no checkpoint, recovery on the next start) or cleanly. */
  stop(mode?: 'immediate' | 'fast'): void
  start(): Promise<void>
  /** A fresh, empty database on the server; returns its connection string. */
  createDatabase(): Promise<string>
  /**
   * Freezes the server like a hung machine: SIGSTOP to the postmaster, then to every backend and
   * auxiliary process. The kernel still accepts connections and acknowledges what is sent; nothing
   * answers. `thaw` sends SIGCONT in the reverse order.
   */
  freeze(): void
  thaw(): void
  /** Stops the server and removes its directory. */
  destroy(): void
}

/** Starts a server: initdb (as `postgres` when root), pg_ctl start with fsync on, a database `azoth`. */
export async function startPgServer(): Promise<PgServer> {
  if (pgUnavailable !== undefined) throw new Error(pgUnavailable)
  const dir = mkdtempSync(join(tmpdir(), 'azoth-pg-'))
  chmodSync(dir, 0o755)
  const data = join(dir, 'data')
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', user!], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', user!], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const port = await freePort()
  asUser(join(binDir!, 'initdb'), ['-D', data, '-U', 'azoth', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-p ${port}`,
    `-k ${dir}`,
    '-c fsync=on',
    '-c synchronous_commit=on',
    '-c full_page_writes=on',
    '-c max_connections=50',
  ].join(' ')
  let databases = 0
  let frozen: number[] = []
  const postmaster = (): number => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  const server: PgServer = {
    port,
    url: `postgres://azoth@127.0.0.1:${port}/azoth`,
    stop(mode = 'fast') {
      asUser(join(binDir!, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop'])
    },
    async start() {
      asUser(join(binDir!, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'])
    },
    async createDatabase() {
      const name = `azoth_${++databases}`
      const client = new pg.Client({ connectionString: server.url.replace(/\/azoth$/, '/postgres') })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://azoth@127.0.0.1:${port}/${name}`
    },
    freeze() {
      const pid = postmaster()
      process.kill(pid, 'SIGSTOP')
      // The postmaster is stopped first, so no new child appears while the children are listed.
      frozen = [pid, ...childrenOf(pid)]
      for (const child of frozen.slice(1)) process.kill(child, 'SIGSTOP')
    },
    thaw() {
      for (const pid of [...frozen].reverse()) {
        try {
          process.kill(pid, 'SIGCONT')
        } catch {
          // A child that ended while frozen (none should; a SIGKILL from outside would do it).
        }
      }
      frozen = []
    },
    destroy() {
      if (frozen.length > 0) server.thaw()
      try {
        server.stop('immediate')
      } catch {
        // Already stopped (a test stopped it and failed before starting it again).
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  const client = new pg.Client({ connectionString: server.url.replace(/\/azoth$/, '/postgres') })
  await client.connect()
  await client.query('CREATE DATABASE azoth')
  await client.end()
  return server
}
