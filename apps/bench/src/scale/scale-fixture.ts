import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { encodeEnvelope } from '@azothdb/core'
import { Azoth, type EventLogKind } from 'azothdb'
import { encode as cborEncode } from 'cbor-x'
import { type Database, open, type RootDatabase } from 'lmdb'
import { depositOf, EVENT_TYPE, keyOf } from './scale-data.js'

type Bytes = Uint8Array

/** Operations per write batch while building: large, so building 10^7 takes about a minute. */
const BUILD_BATCH = 20_000

/** The raw side's LMDB environment: a state database and an events database (u64 big-endian ids). */
export interface RawEnv {
  readonly env: RootDatabase<Bytes, Bytes>
  readonly state: Database<Bytes, Bytes>
  readonly events: Database<Bytes, Bytes>
}

export const TABLE = 'CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)'

/** The u64 big-endian key of event `id`, as both logs store ids. */
export function eventIdKey(id: number): Buffer {
  const key = Buffer.allocUnsafe(8)
  key.writeBigUInt64BE(BigInt(id))
  return key
}

export function openRawEnv(path: string): RawEnv {
  const env = open<Bytes, Bytes>({ path, maxDbs: 4, keyEncoding: 'binary', encoding: 'binary' })
  const named = { keyEncoding: 'binary', encoding: 'binary' } as const
  return {
    env,
    state: env.openDB({ name: 'state', ...named }),
    events: env.openDB({ name: 'events', ...named }),
  }
}

/**
 * The data of one size N, built once (untimed) and shared by every case at that N: an Azoth
 * database with the LMDB log, one with the file log, and a raw lmdb-js environment, each holding
 * N keys and N events. Cases borrow the open handles and close them when they time opens.
 */
export class ScaleFixture {
  readonly oursDir: string
  readonly fileDir: string
  readonly rawPath: string
  readonly rawSqlitePath: string
  #built: Promise<void> | undefined
  #db: Azoth | undefined
  #fileDb: Azoth | undefined
  #raw: RawEnv | undefined
  /** The raw environment's next event id: commits on top continue the log. */
  rawNextId: number

  constructor(
    readonly root: string,
    readonly n: number,
  ) {
    this.oursDir = join(root, 'ours-lmdb-log')
    this.fileDir = join(root, 'ours-file-log')
    this.rawPath = join(root, 'raw.mdb')
    this.rawSqlitePath = join(root, 'raw-projection.db')
    this.rawNextId = n + 1
  }

  /** Builds the three stores on first call (a failed build is not retried by every case). */
  build(): Promise<void> {
    this.#built ??= (async () => {
      mkdirSync(this.root, { recursive: true })
      await buildAzoth(this.oursDir, 'lmdb', this.n)
      await buildAzoth(this.fileDir, 'file', this.n)
      await buildRaw(this.rawPath, this.n)
    })()
    return this.#built
  }

  /** The LMDB-log database, opened (durability 'sync') when not open. */
  async db(): Promise<Azoth> {
    await this.build()
    this.#db ??= await Azoth.open(this.oursDir, { create: false })
    return this.#db
  }

  async closeDb(): Promise<void> {
    const db = this.#db
    this.#db = undefined
    await db?.close()
  }

  /** The file-log database, opened when not open. */
  async fileDb(): Promise<Azoth> {
    await this.build()
    this.#fileDb ??= await Azoth.open(this.fileDir, { create: false })
    return this.#fileDb
  }

  async closeFileDb(): Promise<void> {
    const db = this.#fileDb
    this.#fileDb = undefined
    await db?.close()
  }

  async raw(): Promise<RawEnv> {
    await this.build()
    this.#raw ??= openRawEnv(this.rawPath)
    return this.#raw
  }

  async closeRaw(): Promise<void> {
    const raw = this.#raw
    this.#raw = undefined
    await raw?.env.close()
  }

  /** Closes everything and removes the data of this size, so the next size has the disk to itself. */
  async dispose(): Promise<void> {
    await this.closeDb()
    await this.closeFileDb()
    await this.closeRaw()
    rmSync(this.root, { recursive: true, force: true })
    this.#built = undefined
  }
}

async function buildAzoth(dir: string, eventLog: EventLogKind, n: number): Promise<void> {
  const db = await Azoth.open(dir, { eventLog, durability: 'relaxed' })
  try {
    await db.migrate([{ version: 1, name: 'balances', up: (tx) => tx.exec(TABLE) }])
    for (let from = 0; from < n; from += BUILD_BATCH) {
      const batch = db.writeBatch()
      const to = Math.min(n, from + BUILD_BATCH)
      for (let i = from; i < to; i++) batch.put(keyOf(i), BigInt(i)).appendEvent(EVENT_TYPE, depositOf(i))
      await batch.commit()
    }
  } finally {
    await db.close()
  }
}

async function buildRaw(path: string, n: number): Promise<void> {
  const { env, state, events } = openRawEnv(path)
  try {
    const timestamp = Date.now()
    for (let from = 0; from < n; from += BUILD_BATCH * 5) {
      const to = Math.min(n, from + BUILD_BATCH * 5)
      env.transactionSync(() => {
        for (let i = from; i < to; i++) {
          state.putSync(Buffer.from(keyOf(i)), cborEncode(i))
          events.putSync(
            eventIdKey(i + 1),
            encodeEnvelope({ type: EVENT_TYPE, timestamp, payload: depositOf(i) }),
          )
        }
      })
    }
  } finally {
    await env.close()
  }
}
