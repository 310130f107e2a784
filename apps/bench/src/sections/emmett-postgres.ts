import { join } from 'node:path'
import { openAzoth } from '../emmett/azoth-side.js'
import { CATCH_UP_BATCH, READ_BATCH } from '../emmett/batch-sizes.js'
import { openEmmettPostgres } from '../emmett/postgres-side.js'
import { SharedPgServer } from '../emmett/shared-pg-server.js'
import {
  aggregateMeasure,
  appendMeasure,
  catchUpMeasure,
  globalReadMeasure,
  readAllMeasure,
} from '../emmett/store-measures.js'
import type { Case, Section } from '../harness.js'
import { pgUnavailable } from '../pg-server.js'

// Azoth through @azothdb/emmett against Emmett's PostgreSQL event store from the registry, doing
// the same Emmett calls with the same events in the same run, on a PostgreSQL server the section
// starts on loopback. Ratio above 1: Azoth did more per second.

const inCi = !['', '0', 'false', undefined].includes(process.env['CI'])

const section: Section = {
  name: 'emmett-postgres',
  description: "Emmett's EventStore: Azoth (@azothdb/emmett) against Emmett's PostgreSQL event store",
  cases: ({ quick, tmpDir }) => {
    if (pgUnavailable !== undefined) {
      if (inCi) throw new Error(`PostgreSQL is required in CI: ${pgUnavailable}`)
      process.stderr.write(`emmett-postgres skipped: ${pgUnavailable}\n`)
      return []
    }
    const server = new SharedPgServer()
    const azoth = (name: string) => () => openAzoth(join(tmpDir, `azoth-${name}`))
    const emmett = () => server.side(openEmmettPostgres)
    const sides = {
      azoth: "durability 'sync' (fdatasync per group commit)",
      emmett:
        '@event-driven-io/emmett-postgresql 0.42.0, its default pg.Pool (max 10 connections), PostgreSQL on loopback ' +
        'with fsync=on, synchronous_commit=on; calls made as they come (PostgreSQL takes them concurrently)',
    }
    const sequential = quick ? 100 : 200
    const perCaller = quick ? 2 : 5
    const batches = quick ? 2 : 5
    const streams = 100
    const perStream = quick ? 20 : 100
    return [
      {
        name: 'Emmett appendToStream: sequential single-event appends with expected versions',
        unit: 'appends',
        params: { callers: 1, perRun: sequential, ...sides },
        ours: appendMeasure(azoth('sequential'), 1, sequential),
        raw: appendMeasure(emmett, 1, sequential),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett appendToStream: 64 concurrent appenders on distinct streams',
        unit: 'appends',
        params: { callers: 64, perCaller, ...sides },
        ours: appendMeasure(azoth('concurrent'), 64, perCaller),
        raw: appendMeasure(emmett, 64, perCaller),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett appendToStream: batches of 1,000 events, sequential, expected versions',
        unit: 'events',
        params: { callers: 1, eventsPerAppend: 1_000, appendsPerRun: batches, ...sides },
        ours: appendMeasure(azoth('batches'), 1, batches, 1_000),
        raw: appendMeasure(emmett, 1, batches, 1_000),
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
        raw: readAllMeasure(emmett, streams, perStream),
        target: { minRatio: 10 },
      },
      {
        name: "Emmett read all in global order: each store's own global read",
        unit: 'events',
        params: {
          events: streams * perStream,
          azothRead: 'db.events() of the database under @azothdb/emmett (the adapter has no global read)',
          emmettRead:
            'readMessagesBatch(dumbo pool.execute, { after, batchSize: 1000 }) of @event-driven-io/emmett-postgresql',
          batch: READ_BATCH,
          ...sides,
        },
        ours: globalReadMeasure(azoth('global-read'), streams, perStream),
        raw: globalReadMeasure(emmett, streams, perStream),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett aggregateStream of a 100-event stream',
        unit: 'aggregates',
        params: { events: 100, ...sides },
        ours: aggregateMeasure(azoth('aggregate'), 100, quick ? 50 : 100),
        raw: aggregateMeasure(emmett, 100, quick ? 50 : 100),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett projection catch-up: every event into a PostgreSQL read model, one upsert per event',
        unit: 'events',
        params: {
          events: streams * perStream,
          batch: CATCH_UP_BATCH,
          azothCatchUp:
            'projector.rebuild() (reset, then catch-up) with postgresProjection into a database of the same server',
          emmettCatchUp:
            'rebuildPostgreSQLProjections with a postgreSQLProjection (truncate, then every event; new processor id ' +
            'per run); pulling { batchSize: 1000, pullingFrequencyInMs: 0 } (the default 50 ms pause between batches ' +
            'would be timed sleep); its first pull still waits 100 ms',
          ...sides,
        },
        ours: catchUpMeasure(
          () =>
            server.side((url) =>
              openAzoth(join(tmpDir, 'azoth-catch-up'), { kind: 'postgres', connectionString: url }),
            ),
          streams,
          perStream,
        ),
        raw: catchUpMeasure(emmett, streams, perStream),
        target: { minRatio: 10 },
      },
    ] satisfies Case[]
  },
}

export default section
