import type { Database, RootDatabase } from 'lmdb'

type Bytes = Uint8Array

/** The LMDB handles of a store: the environment and its three named databases. */
export interface StoreDatabases {
  readonly env: RootDatabase<Bytes, Bytes>
  readonly state: Database<Bytes, Bytes>
  readonly events: Database<Bytes, Bytes>
  readonly meta: Database<Bytes, Bytes>
}
