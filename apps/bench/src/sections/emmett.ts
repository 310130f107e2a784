import { join } from 'node:path'
import { openAzoth } from '../emmett/azoth-side.js'
import { CATCH_UP_BATCH, READ_BATCH } from '../emmett/batch-sizes.js'
import { emmettSqliteDurability, openEmmettSqlite } from '../emmett/sqlite-side.js'
import {
  aggregateMeasure,
  appendMeasure,
  catchUpMeasure,
  globalReadMeasure,
  readAllMeasure,
} from '../emmett/store-measures.js'
import type { Case, Section } from '../harness.js'

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
    const sequential = quick ? 100 : 200
    // Emmett's side makes the 64 callers' appends one at a time (about 100/s): few per run.
    const perCaller = quick ? 1 : 2
    const batches = quick ? 2 : 5
    const streams = 100
    const perStream = quick ? 20 : 100
    return [
      {
        name: 'Emmett appendToStream: sequential single-event appends with expected versions',
        unit: 'appends',
        params: { callers: 1, perRun: sequential, ...sides },
        ours: appendMeasure(azoth('sequential'), 1, sequential),
        raw: appendMeasure(sqlite('sequential'), 1, sequential),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett appendToStream: 64 concurrent appenders on distinct streams',
        unit: 'appends',
        params: { callers: 64, perCaller, ...sides },
        ours: appendMeasure(azoth('concurrent'), 64, perCaller),
        raw: appendMeasure(sqlite('concurrent'), 64, perCaller),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett appendToStream: batches of 1,000 events, sequential, expected versions',
        unit: 'events',
        params: { callers: 1, eventsPerAppend: 1_000, appendsPerRun: batches, ...sides },
        ours: appendMeasure(azoth('batches'), 1, batches, 1_000),
        raw: appendMeasure(sqlite('batches'), 1, batches, 1_000),
      },
      {
        name: 'Emmett read all: readStream of every stream of the store',
        unit: 'events',
        params: {
          streams,
          perStream,
          read: 'readStream of each stream, one after another, on both sides (the store holds nothing else)',
          ...sides,
        },
        ours: readAllMeasure(azoth('read-all'), streams, perStream),
        raw: readAllMeasure(sqlite('read-all'), streams, perStream),
        target: { minRatio: 10 },
      },
      {
        name: "Emmett read all in global order: each store's own global read",
        unit: 'events',
        params: {
          events: streams * perStream,
          azothRead: 'db.events() of the database under @azothdb/emmett (the adapter has no global read)',
          emmettRead:
            'readMessagesBatch(connection, { after, batchSize: 1000 }) of @event-driven-io/emmett-sqlite on one connection',
          batch: READ_BATCH,
          ...sides,
        },
        ours: globalReadMeasure(azoth('global-read'), streams, perStream),
        raw: globalReadMeasure(sqlite('global-read'), streams, perStream),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett aggregateStream of a 100-event stream',
        unit: 'aggregates',
        params: { events: 100, ...sides },
        ours: aggregateMeasure(azoth('aggregate'), 100, quick ? 50 : 100),
        raw: aggregateMeasure(sqlite('aggregate'), 100, quick ? 50 : 100),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett projection catch-up: every event into a SQLite read model, one upsert per event',
        unit: 'events',
        params: {
          events: streams * perStream,
          batch: CATCH_UP_BATCH,
          azothCatchUp: "projector.rebuild() (reset, then catch-up) into the database's SQLite projection",
          emmettCatchUp:
            'store.consumer() with a sqliteProjection processor from BEGINNING (new processor id per run) after ' +
            'DELETE FROM the read model, stopAfter the last event; pulling { batchSize: 1000, pullingFrequencyInMs: 0 } ' +
            '(the default 50 ms pause between batches would be timed sleep); its first pull still waits 100 ms',
          ...sides,
        },
        ours: catchUpMeasure(azoth('catch-up', true), streams, perStream),
        raw: catchUpMeasure(sqlite('catch-up'), streams, perStream),
        target: { minRatio: 10 },
      },
    ] satisfies Case[]
  },
}

export default section
