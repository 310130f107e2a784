import type { Database, RootDatabase } from 'lmdb'
import type { StreamDatabases } from './stream-runs.js'

type Bytes = Uint8Array

/** The LMDB handles of a store: the environment and its named databases. */
export interface StoreDatabases {
  readonly env: RootDatabase<Bytes, Bytes>
  readonly state: Database<Bytes, Bytes>
  readonly events: Database<Bytes, Bytes>
  readonly meta: Database<Bytes, Bytes>
  /** The stream index; undefined only in a read-only open of a store written before streams existed. */
  readonly streams: StreamDatabases | undefined
  /**
   * Idempotency keys with their commits' results (idempotency-records.ts); undefined only in a
   * read-only open of a store written before idempotency keys existed.
   */
  readonly idempotency: Database<Bytes, Bytes> | undefined
}
