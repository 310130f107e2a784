import type { Case } from '../harness.js'
import { CATCH_UP_BATCH, READ_BATCH } from './batch-sizes.js'
import type { EmmettSide } from './emmett-side.js'
import {
  aggregateMeasure,
  appendMeasure,
  catchUpMeasure,
  globalReadMeasure,
  readAllMeasure,
} from './store-measures.js'

type Open = () => Promise<EmmettSide>

/** What differs between the Emmett peer sections: the two sides, their sizes and how each reads and catches up. */
export interface PeerCasesSpec {
  readonly quick: boolean
  /** Azoth's side of a case named `name` (each case gets a database of its own). */
  ours(name: string): Open
  /** Azoth's side of the catch-up case, whose projection lives where the peer's read model does. */
  oursCatchUp: Open
  /** The peer's side of a case named `name`. */
  peer(name: string): Open
  /** Both sides' durability and concurrency settings, in every case's params. */
  readonly sides: Record<string, string>
  /** Single-event appends per caller in the 64-caller case. */
  readonly perCaller: number
  /** What the read model is, for the catch-up case's name: 'SQLite', 'PostgreSQL'. */
  readonly readModel: string
  readonly emmettRead: string
  readonly azothCatchUp: string
  readonly emmettCatchUp: string
}

/**
 * The workloads both Emmett peer sections run, named alike so reports and comparisons line up:
 * sequential appends, 64 concurrent appenders, batches of 1,000, read all (by stream and in global
 * order), aggregateStream and projection catch-up. Ours = Azoth through @azothdb/emmett, raw = the peer.
 */
export function peerCases(spec: PeerCasesSpec): Case[] {
  const { quick, ours, peer, sides, perCaller } = spec
  const sequential = quick ? 100 : 200
  const batches = quick ? 2 : 5
  const streams = 100
  const perStream = quick ? 20 : 100
  const both = (name: string, measure: (open: Open) => Case['ours']) => ({
    ours: measure(ours(name)),
    raw: measure(peer(name)),
  })
  return [
    {
      name: 'Emmett appendToStream: sequential single-event appends with expected versions',
      unit: 'appends',
      params: { callers: 1, perRun: sequential, ...sides },
      ...both('sequential', (open) => appendMeasure(open, 1, sequential)),
      target: { minRatio: 10 },
    },
    {
      name: 'Emmett appendToStream: 64 concurrent appenders on distinct streams',
      unit: 'appends',
      params: { callers: 64, perCaller, ...sides },
      ...both('concurrent', (open) => appendMeasure(open, 64, perCaller)),
      target: { minRatio: 10 },
    },
    {
      name: 'Emmett appendToStream: batches of 1,000 events, sequential, expected versions',
      unit: 'events',
      params: { callers: 1, eventsPerAppend: 1_000, appendsPerRun: batches, ...sides },
      ...both('batches', (open) => appendMeasure(open, 1, batches, 1_000)),
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
      ...both('read-all', (open) => readAllMeasure(open, streams, perStream)),
      target: { minRatio: 10 },
    },
    {
      name: "Emmett read all in global order: each store's own global read",
      unit: 'events',
      params: {
        events: streams * perStream,
        azothRead: 'db.events() of the database under @azothdb/emmett (the adapter has no global read)',
        emmettRead: spec.emmettRead,
        batch: READ_BATCH,
        ...sides,
      },
      ...both('global-read', (open) => globalReadMeasure(open, streams, perStream)),
      target: { minRatio: 10 },
    },
    {
      name: 'Emmett aggregateStream of a 100-event stream',
      unit: 'aggregates',
      params: { events: 100, ...sides },
      ...both('aggregate', (open) => aggregateMeasure(open, 100, quick ? 50 : 100)),
      target: { minRatio: 10 },
    },
    {
      name: `Emmett projection catch-up: every event into a ${spec.readModel} read model, one upsert per event`,
      unit: 'events',
      params: {
        events: streams * perStream,
        batch: CATCH_UP_BATCH,
        azothCatchUp: spec.azothCatchUp,
        emmettCatchUp: spec.emmettCatchUp,
        ...sides,
      },
      ours: catchUpMeasure(spec.oursCatchUp, streams, perStream),
      raw: catchUpMeasure(peer('catch-up'), streams, perStream),
      target: { minRatio: 10 },
    },
  ]
}
