import {
  AzothError,
  CorruptionError,
  type EventId,
  type EventLog,
  type EventRecord,
  type StreamInfo,
} from '@azothdb/core'
import {
  checkArgument,
  decodeEnvelopeHeader,
  describeValue,
  type EnvelopeHeader,
  rules,
  type StreamIndexRange,
  streamNameBytes,
  utf8Encode,
} from '@azothdb/core/internal'
import type { EventsReader } from './events-reader.js'
import type { StoreDatabases } from './store-databases.js'
import { indexEntries, listStreams, runSlices, visibleHead } from './stream-index.js'
import { readHeadEntry, type StreamHead } from './stream-runs.js'

/** How many events a stream read resolves at once: enough to share entry reads, few to hold. */
const READ_BATCH = 256

/** Receives one event of a stream read by `StreamReads.forEach`: its id, envelope and checked header. */
export type StreamVisitor = (id: EventId, bytes: Uint8Array, header: EnvelopeHeader) => void

/** The greatest version a number holds exactly. */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER)

/** One event of a stream: its version, global id, envelope bytes and their decoded header. */
export interface StreamRecord extends EventRecord {
  /** The event's version in its stream. */
  readonly version: bigint
  /** The envelope's header (type, timestamp, metadata, stream), decoded when the event was checked. */
  readonly header: EnvelopeHeader
}

/** What the writer reads of the stream index: the latest committed head, durable or not yet. */
export function committedStreamHead(dbs: StoreDatabases): (name: Uint8Array) => StreamHead | undefined {
  return (name) => (dbs.streams === undefined ? undefined : readHeadEntry(dbs.streams, name))
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

function checkVersion(value: unknown, field: string): void {
  if (value !== undefined && (typeof value !== 'bigint' || value < 0n)) {
    invalid(`${field} must be a non-negative bigint`, { field, value: describeValue(value) })
  }
}

/** `range` when its fields are valid; `INVALID_ARGUMENT` naming the field otherwise. */
export function checkStreamRange(range: unknown): StreamIndexRange {
  if (range === undefined) return {}
  if (range === null || typeof range !== 'object') invalid('stream read options must be an object', {})
  const r = range as StreamIndexRange
  checkVersion(r.from, 'from')
  checkVersion(r.to, 'to')
  const max = r.maxCount
  if (max !== undefined && max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max < 0)) {
    invalid('maxCount must be a non-negative integer', { field: 'maxCount', value: describeValue(max) })
  }
  if (r.direction !== undefined && r.direction !== 'forward' && r.direction !== 'backward') {
    invalid("direction must be 'forward' or 'backward'", {
      field: 'direction',
      value: describeValue(r.direction),
    })
  }
  return r
}

/**
 * Reads of streams for the store: versions, index entries and events, limited to the events
 * readers may see (ids up to the store's head).
 */
export class StreamReads {
  constructor(
    private readonly dbs: StoreDatabases,
    private readonly events: EventsReader,
    private readonly eventLog: EventLog | undefined,
  ) {}

  /** The version of the stream's last visible event, or undefined when it has none. */
  version(stream: string, head: EventId): bigint | undefined {
    const name = streamNameBytes(stream)
    return this.dbs.streams === undefined ? undefined : visibleHead(this.dbs.streams, name, head)?.version
  }

  /**
   * The stream's events within `range`, read through the index: O(events read), not a log scan.
   * Each event is checked to be the one the index names (`CORRUPTION` otherwise).
   */
  *records(stream: string, range: StreamIndexRange, head: EventId): Generator<StreamRecord> {
    const name = streamNameBytes(stream)
    if (this.dbs.streams === undefined) return
    // The index's events are taken a batch at a time, then read together, so a stream's events
    // that share an LMDB entry cost one entry read (see EventsReader.getMany).
    const entries = indexEntries(this.dbs.streams, name, range, head)
    if (entries === undefined) return
    const versions: bigint[] = []
    const ids: EventId[] = []
    const envelopes: (Uint8Array | undefined)[] = []
    try {
      let more = true
      while (more) {
        let count = 0
        while (count < READ_BATCH) {
          const next = entries.next()
          if (next.done === true) {
            more = false
            break
          }
          versions[count] = next.value.version
          ids[count++] = next.value.id
        }
        this.events.getMany(ids, count, envelopes)
        for (let i = 0; i < count; i++) yield this.checked(stream, versions[i]!, ids[i]!, envelopes[i])
      }
    } finally {
      entries.return(undefined)
    }
  }

  /**
   * Calls `visit` with each of the stream's events within `range`, in reading order: the events,
   * checks and errors of {@link records}, without an iterator step and a version per event (a
   * whole-stream read or fold is most of what a stream is read for). Synchronous: `visit` must not
   * wait.
   */
  forEach(stream: string, range: StreamIndexRange, head: EventId, visit: StreamVisitor): void {
    // Checked up front: otherwise a stream without events would accept anything, silently.
    checkArgument('visit', visit, rules.function)
    const name = streamNameBytes(stream)
    if (this.dbs.streams === undefined) return
    const streamHead = readHeadEntry(this.dbs.streams, name)
    if (streamHead === undefined) return
    const ids: EventId[] = []
    const envelopes: (Uint8Array | undefined)[] = []
    for (const slice of runSlices(this.dbs.streams, name, streamHead, range, head)) {
      const step = slice.backward ? -1 : 1
      // Versions are compared as numbers where they are exact (below 2^53: always, in practice).
      const base = slice.version <= MAX_EXACT ? Number(slice.version) : undefined
      for (let done = 0; done < slice.count; ) {
        const count = Math.min(READ_BATCH, slice.count - done)
        for (let k = 0; k < count; k++) ids[k] = slice.id + step * (done + k)
        this.events.getMany(ids, count, envelopes)
        for (let k = 0; k < count; k++) {
          const offset = step * (done + k)
          const id = ids[k]!
          const bytes = envelopes[k]
          envelopes[k] = undefined
          if (bytes === undefined) this.missing(stream, slice.version + BigInt(offset), id)
          const header = decodeEnvelopeHeader(bytes, `event ${id}`)
          const ref = header.stream
          const named =
            ref !== undefined &&
            ref.name === stream &&
            (base !== undefined
              ? Number(ref.version) === base + offset
              : ref.version === slice.version + BigInt(offset))
          if (!named) this.misnamed(stream, slice.version + BigInt(offset), id)
          visit(id, bytes, header)
        }
        done += count
      }
    }
  }

  /** The envelope the index names as `version` of `stream`, checked to be that event. */
  private checked(stream: string, version: bigint, id: EventId, bytes: Uint8Array | undefined): StreamRecord {
    if (bytes === undefined) this.missing(stream, version, id)
    // The envelope names its stream and version: an index entry pointing elsewhere is damage,
    // and must not hand out another stream's event as this one's.
    const header = decodeEnvelopeHeader(bytes, `event ${id}`)
    const ref = header.stream
    if (ref?.name !== stream || ref.version !== version) this.misnamed(stream, version, id)
    return { version, id, bytes, header }
  }

  private misnamed(stream: string, version: bigint, id: EventId): never {
    throw new CorruptionError(
      `the stream index names event ${id} as version ${version} of stream '${stream}', but it is not`,
      { details: { where: `stream-index/${stream}/${version}`, stream, version, eventId: id } },
    )
  }

  /** Streams whose names start with `prefix`, in name (UTF-8 byte) order. */
  list(prefix: string, head: EventId): IterableIterator<StreamInfo> {
    if (typeof prefix !== 'string' || !prefix.isWellFormed()) {
      invalid('a stream prefix must be a well-formed string', { prefix: describeValue(prefix) })
    }
    if (this.dbs.streams === undefined) return [][Symbol.iterator]()
    return listStreams(this.dbs.streams, utf8Encode(prefix), head)
  }

  private missing(stream: string, version: bigint, id: EventId): never {
    const oldest = this.eventLog?.oldest()
    if (oldest !== undefined && id < oldest) {
      // Compaction dropped it on purpose: not damage, but not readable either. Reading on would
      // hand out a stream with a hole (and an aggregate built from it), so the read stops here.
      throw new AzothError(
        'NOT_FOUND',
        `event ${id} (version ${version} of stream '${stream}') was compacted away; read from a later version`,
        { details: { stream, version, eventId: id, oldestEventId: oldest } },
      )
    }
    throw new CorruptionError(`the stream index names event ${id} of stream '${stream}', which is missing`, {
      details: { where: `stream ${stream} version ${version}`, stream, version, eventId: id },
    })
  }
}
