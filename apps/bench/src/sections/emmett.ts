import { join } from 'node:path'
import { openAzoth } from '../emmett/azoth-side.js'
import { peerCases } from '../emmett/peer-cases.js'
import { emmettSqliteDurability, openEmmettSqlite } from '../emmett/sqlite-side.js'
import type { Section } from '../harness.js'

// Azoth through @azothdb/emmett against Emmett's SQLite event store from the registry, doing the
// same Emmett calls with the same events in the same run. Ratio above 1: Azoth did more per second.

const section: Section = {
  name: 'emmett',
  description: "Emmett's EventStore: Azoth (@azothdb/emmett) against Emmett's SQLite event store",
  cases: async ({ quick, tmpDir }) => {
    const azoth =
      (name: string, catchUp = false) =>
      () =>
        openAzoth(join(tmpDir, `azoth-${name}`), catchUp ? { kind: 'sqlite' } : undefined)
    const sqlite = (name: string) => () => openEmmettSqlite(join(tmpDir, `sqlite-${name}.db`))
    const sides = {
      azoth: "durability 'sync' (fdatasync per group commit)",
      emmett: `@event-driven-io/emmett-sqlite 0.42.4, sqlite3 ${await emmettSqliteDurability(join(tmpDir, 'probe.db'))}, a connection per call; calls serialized (one at a time; concurrent ones queue), a call failing with SQLITE_BUSY retried`,
    }
    return peerCases({
      quick,
      ours: (name) => azoth(name),
      oursCatchUp: azoth('catch-up', true),
      peer: sqlite,
      sides,
      // Emmett's side makes the 64 callers' appends one at a time (about 100/s): few per run.
      perCaller: quick ? 1 : 2,
      readModel: 'SQLite',
      emmettRead:
        'readMessagesBatch(connection, { after, batchSize: 1000 }) of @event-driven-io/emmett-sqlite on one connection',
      azothCatchUp: "projector.rebuild() (reset, then catch-up) into the database's SQLite projection",
      emmettCatchUp:
        'store.consumer() with a sqliteProjection processor from BEGINNING (new processor id per run) after ' +
        'DELETE FROM the read model, stopAfter the last event; pulling { batchSize: 1000, pullingFrequencyInMs: 0 } ' +
        '(the default 50 ms pause between batches would be timed sleep); its first pull still waits 100 ms',
    })
  },
}

export default section
