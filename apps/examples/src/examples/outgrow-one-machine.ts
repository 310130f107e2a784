/**
 * outgrow-one-machine: the write side stays embedded; read models live in PostgreSQL, where other
 * processes query them; events go to NATS JetStream, where services on other machines consume them.
 *
 * This process is the writer: an Azoth database (its directory on this machine) with the
 * PostgreSQL projection (`postgresProjection`) and a NATS relay (`startNatsRelay`). It starts
 * three other processes, standing for other hosts (they share nothing with it but the two servers'
 * URLs): two readers that query the read model in PostgreSQL with plain `pg`
 * (outgrow-one-machine/reader.ts), and a consumer that reads the JetStream stream with the official
 * NATS client (outgrow-one-machine/consumer.ts). The writer deposits money into accounts, each
 * account a stream; when it is done it tells the others the head, and each reports what it saw.
 *
 * The example creates a PostgreSQL database and a JetStream stream of its own and removes both at
 * the end, so it can run against servers you use for other things.
 *
 * Run: AZOTH_PG_URL=postgres://user@host:5432/postgres AZOTH_NATS_URL=nats://host:4222 pnpm example outgrow-one-machine
 *      (the PostgreSQL user must be allowed to create databases; NATS must run with JetStream: nats-server -js)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type PostgresTx, postgresProjection } from '@azothdb/projection-postgres'
import { startNatsRelay } from '@azothdb/relay-nats'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { Azoth } from 'azothdb'
import pg from 'pg'

const pgUrl = process.env.AZOTH_PG_URL
const natsUrl = process.env.AZOTH_NATS_URL
if (pgUrl === undefined || natsUrl === undefined) {
  console.error(`outgrow-one-machine needs two servers, named by environment variables:
  AZOTH_PG_URL    a PostgreSQL server where the user may create databases, e.g. postgres://postgres@localhost:5432/postgres
                  (Debian: apt-get install postgresql)
  AZOTH_NATS_URL  a NATS server with JetStream, e.g. nats://localhost:4222 (Debian: apt-get install nats-server; run nats-server -js)
missing: ${[pgUrl === undefined ? 'AZOTH_PG_URL' : '', natsUrl === undefined ? 'AZOTH_NATS_URL' : ''].filter(Boolean).join(', ')}`)
  process.exit(2)
}

const events = Number(process.env.AZOTH_EXAMPLE_EVENTS ?? 500)
const accounts = ['ada', 'grace', 'linus', 'barbara', 'ken']
const run = `${Date.now().toString(36)}${process.pid}`
const stream = `LEDGER_${run}`.toUpperCase()
const subjectPrefix = `ledger_${run}`

// A database of the example's own on the given server: the read model, the cursors and dead letters go there.
const admin = new pg.Client({ connectionString: pgUrl })
await admin.connect()
const database = `azoth_example_${run}`
await admin.query(`CREATE DATABASE ${database}`)
const readModelUrl = new URL(pgUrl)
readModelUrl.pathname = `/${database}`

const dir = mkdtempSync(join(tmpdir(), 'azoth-outgrow-'))
const children: ChildProcess[] = []
try {
  // ---- The writer: embedded, on this machine ----------------------------------------------------
  const db = await Azoth.open(dir, {
    projection: postgresProjection({ connectionString: readModelUrl.href }),
  })
  await db.migrate([
    {
      version: 1,
      name: 'balances',
      up: (tx) =>
        tx.exec(
          'CREATE TABLE balances (account TEXT PRIMARY KEY, amount BIGINT NOT NULL, deposits INTEGER NOT NULL)',
        ),
    },
  ])
  const projector = db.projector({
    name: 'balances',
    batch: { maxEvents: 100, maxLatencyMs: 10 },
    handlers: [
      {
        eventTypes: ['Deposited'],
        async handle(event, tx: PostgresTx) {
          const { account, amount } = event.payload as { account: string; amount: number }
          await tx.run(
            'INSERT INTO balances (account, amount, deposits) VALUES ($1, $2, 1) ON CONFLICT (account) ' +
              'DO UPDATE SET amount = balances.amount + excluded.amount, deposits = balances.deposits + 1',
            [account, amount],
          )
        },
      },
    ],
  })
  projector.start()
  const relay = startNatsRelay(db, { servers: natsUrl, stream, subjectPrefix })
  await relay.ready // the stream exists (the relay created it) and holds nothing yet

  // ---- The other "hosts": they get the servers' URLs and names, nothing of the writer ----------
  const here = fileURLToPath(new URL('./outgrow-one-machine/', import.meta.url))
  const start = (name: string, file: string, args: string[]): ChildProcess => {
    const child = spawn(process.execPath, [...process.execArgv, join(here, file), ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    createInterface({ input: child.stdout! }).on('line', (line) => console.log(`${name}: ${line}`))
    children.push(child)
    return child
  }
  const readers = [1, 2].map((i) => start(`reader ${i}`, 'reader.ts', [readModelUrl.href]))
  const consumer = start('consumer', 'consumer.ts', [natsUrl, stream])
  const finished = children.map(
    (child) =>
      new Promise<void>((resolve, reject) =>
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`a process exited with ${code}`)),
        ),
      ),
  )

  // Deposits, ten transactions at a time (as a server handling requests would), each to one account's stream.
  for (let n = 0; n < events; n += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, events - n) }, (_, k) => {
        const account = accounts[(n + k) % accounts.length]!
        return db.appendToStream(`account-${account}`, [
          { type: 'Deposited', data: { account, amount: n + k + 1 } },
        ])
      }),
    )
  }
  const head = db.head()
  console.log(`writer: committed ${head} events; the projector and the relay follow`)
  for (const child of [...readers, consumer]) child.stdin!.end(`${head}\n`)
  // Bounded, so a server that stopped answering ends the example (and its processes) with an error.
  const deadline = Date.now() + 60_000
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all(finished),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the other processes did not finish within 60 s')), 60_000)
    }),
  ]).finally(() => clearTimeout(timer))
  while (relay.metrics().lastAckedId < head || projector.metrics().cursor < head) {
    if (Date.now() > deadline)
      throw new Error(`not caught up within 60 s: ${JSON.stringify(relay.metrics())}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  console.log(
    `writer: projector at ${projector.metrics().cursor}, relay acknowledged up to ${relay.metrics().lastAckedId}`,
  )
  await relay.stop()
  await db.close()
  console.log('ok: outgrow-one-machine')
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
  const nc = await connect({ servers: natsUrl })
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false)
  await nc.close()
}
