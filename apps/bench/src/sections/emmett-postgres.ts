import { join } from 'node:path'
import { openAzoth } from '../emmett/azoth-side.js'
import { peerCases } from '../emmett/peer-cases.js'
import { openEmmettPostgres } from '../emmett/postgres-side.js'
import { SharedPgServer } from '../emmett/shared-pg-server.js'
import type { Section } from '../harness.js'
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
    return peerCases({
      quick,
      ours: azoth,
      oursCatchUp: () =>
        server.side((url) =>
          openAzoth(join(tmpDir, 'azoth-catch-up'), { kind: 'postgres', connectionString: url }),
        ),
      peer: () => emmett,
      sides,
      perCaller: quick ? 2 : 5,
      readModel: 'PostgreSQL',
      emmettRead:
        'readMessagesBatch(dumbo pool.execute, { after, batchSize: 1000 }) of @event-driven-io/emmett-postgresql',
      azothCatchUp:
        'projector.rebuild() (reset, then catch-up) with postgresProjection into a database of the same server',
      emmettCatchUp:
        'rebuildPostgreSQLProjections with a postgreSQLProjection (truncate, then every event; new processor id ' +
        'per run); pulling { batchSize: 1000, pullingFrequencyInMs: 0 } (the default 50 ms pause between batches ' +
        'would be timed sleep); its first pull still waits 100 ms',
    })
  },
}

export default section
