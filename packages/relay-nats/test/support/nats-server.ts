// A throwaway NATS server for tests: `nats-server -js` on loopback with a random port and its
// JetStream store in a temp directory; restartable on the same port and store, removed afterwards.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' })
const binary = which.status === 0 ? which.stdout.trim() : ''

/**
 * Why NATS tests cannot run here, or undefined when they can. In CI (`CI` set, as `.ci/run` does) a
 * missing server is a failure, not a skip: `.ci/run` installs it.
 */
export const natsUnavailable: string | undefined =
  binary === '' ? 'nats-server not found on PATH (Debian package nats-server)' : undefined

const inCi = !['', '0', 'false', undefined].includes(process.env['CI'])
if (natsUnavailable !== undefined && inCi) {
  throw new Error(`NATS tests must run in CI: ${natsUnavailable}`)
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** A running throwaway server. */
export interface NatsServer {
  readonly port: number
  /** `nats://127.0.0.1:<port>` */
  readonly url: string
  /** Stops it: `SIGTERM` (clean shutdown) or `SIGKILL` (a crash); resolves once it has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** Starts it again on the same port and store; resolves once it accepts connections. */
  start(): Promise<void>
  /** Client connections it holds now (from its monitoring endpoint). */
  connections(): Promise<number>
  /** Freezes it (`SIGSTOP`): connections stay open, nothing is answered. */
  pause(): void
  /** Thaws it (`SIGCONT`). */
  resume(): void
  /** Stops it and removes its store. */
  destroy(): Promise<void>
}

/** Starts `nats-server -js` on a free loopback port with a fresh store directory. */
export async function startNatsServer(): Promise<NatsServer> {
  if (natsUnavailable !== undefined) throw new Error(natsUnavailable)
  const dir = mkdtempSync(join(tmpdir(), 'azoth-nats-'))
  const port = await freePort()
  const monitorPort = await freePort()
  let child: ChildProcess | undefined
  let log = ''
  const server: NatsServer = {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      log = ''
      const c = spawn(
        binary,
        ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-sd', join(dir, 'store')],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      c.stdout?.on('data', (d: Buffer) => (log += d.toString()))
      c.stderr?.on('data', (d: Buffer) => (log += d.toString()))
      child = c
      const deadline = Date.now() + 15_000
      // "Server is ready" comes after JetStream has loaded its streams.
      while (!/Server is ready/.test(log) || !(await accepts(port))) {
        if (c.exitCode !== null) throw new Error(`nats-server exited ${c.exitCode}:\n${log}`)
        if (Date.now() > deadline) throw new Error(`nats-server did not start within 15 s:\n${log}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    async stop(signal = 'SIGTERM') {
      const c = child
      child = undefined
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
      c.kill(signal)
      await exited
    },
    async connections() {
      const response = await fetch(`http://127.0.0.1:${monitorPort}/connz`)
      return ((await response.json()) as { num_connections: number }).num_connections
    },
    pause() {
      child?.kill('SIGSTOP')
    },
    resume() {
      child?.kill('SIGCONT')
    },
    async destroy() {
      server.resume()
      await server.stop('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}
