import type { EventId } from '@azothdb/core'
import { bytesEqual, decodeEnvelopeHeader, type ProblemList, toError } from '@azothdb/core/internal'
import {
  blockRuns,
  indexKey,
  parseHead,
  readHeadEntry,
  readIndexEntry,
  type StreamDatabases,
  type StreamHead,
  type StreamRun,
} from './stream-runs.js'

/** Entries checked between two yields to the event loop. */
const SLICE = 4096

/** What the stream walk needs of the store. */
export interface StreamVerifyTarget {
  readonly streams: StreamDatabases | undefined
  /** The envelopes of `ids[0..count)` into `out` (undefined where missing), as stream reads get them. */
  getMany(ids: readonly EventId[], count: number, out: (Uint8Array | undefined)[]): void
  /** The oldest event still stored (a compacted log's index may name older ones: not damage). */
  oldest(): EventId
  /** Yields to the event loop; raises `CLOSED` when the store closed meanwhile. */
  nextSlice(): Promise<void>
}

/** The stream being walked: its last index run's end, and its last event readers may see. */
interface Walk {
  name: Uint8Array
  label: string
  /** The version after the stream's last index run, and that run's last id. */
  end: bigint
  endId: EventId
  /** The last event up to the verified head. */
  version: bigint
  id: EventId
}

/**
 * Walks the stream index up to `head`: each stream's runs (its index entries, then its head's open
 * block) follow each other from version 0 without gaps and with rising ids, each event a run names
 * says in its envelope that it is that version of that stream, and each stream's head
 * (checksummed) is its last event. Events committed after `head` are left out, as readers leave
 * them out. Returns how many stream events were checked.
 */
export async function verifyStreams(
  target: StreamVerifyTarget,
  head: EventId,
  problems: ProblemList,
): Promise<number> {
  const dbs = target.streams
  if (dbs === undefined) return 0
  const check = new EnvelopeChecks(target, head, problems)
  let walk: Walk | undefined
  await slices(
    dbs.index,
    (key, value) => {
      const nameLength = key[0]!
      const where = `stream-index entry ${Buffer.from(key).toString('hex')}`
      let runs: StreamRun[]
      try {
        runs = readIndexEntry(key, value, nameLength, where)
      } catch (e) {
        check.problem(where, toError(e).message)
        return
      }
      const name = key.subarray(1, 1 + nameLength)
      if (walk === undefined || !bytesEqual(walk.name, name)) {
        if (walk !== undefined) endStream(dbs, walk, check)
        walk = {
          name: Buffer.from(name),
          label: Buffer.from(name).toString('utf8'),
          end: 0n,
          endId: 0,
          version: -1n,
          id: 0,
        }
      }
      for (const run of runs) check.run(walk, run)
    },
    target,
    check,
  )
  if (walk !== undefined) endStream(dbs, walk, check)
  // Streams whose every event is in their head's block have no index entries: the walk above
  // never met them. The others must have the entries their block follows.
  await slices(
    dbs.heads,
    (key, value) => {
      const label = Buffer.from(key).toString('utf8')
      let stored: StreamHead
      try {
        stored = parseHead(key, value)
      } catch (e) {
        check.problem(`stream '${label}'`, toError(e).message)
        return
      }
      if (stored.blockStart === 0n) {
        const w: Walk = { name: Buffer.from(key), label, end: 0n, endId: 0, version: -1n, id: 0 }
        for (const run of blockRuns(stored)) check.run(w, run)
        check.headMatches(w, stored)
      } else if (!hasIndexEntries(dbs, key)) {
        check.problem(
          `stream '${label}'`,
          `its head's block starts at version ${stored.blockStart} but the index holds none of its earlier events`,
        )
      }
    },
    target,
    check,
  )
  check.flush()
  return check.checked
}

/** The end of a stream in the index walk: its head continues where its index entries end. */
function endStream(dbs: StreamDatabases, w: Walk, check: EnvelopeChecks): void {
  let stored: StreamHead | undefined
  try {
    stored = readHeadEntry(dbs, w.name)
  } catch {
    return // the heads walk reports it
  }
  if (stored === undefined) {
    check.problem(`stream '${w.label}'`, 'the stream has index entries but no head')
    return
  }
  if (stored.blockStart !== w.end) {
    check.problem(
      `stream '${w.label}'`,
      `its head's block starts at version ${stored.blockStart} but its index entries end at version ${w.end - 1n}`,
    )
    return
  }
  for (const run of blockRuns(stored)) check.run(w, run)
  check.headMatches(w, stored)
}

function hasIndexEntries(dbs: StreamDatabases, name: Uint8Array): boolean {
  for (const _ of dbs.index.getKeys({
    start: indexKey(name, 0n),
    end: indexKey(name, (1n << 64n) - 1n),
    limit: 1,
  })) {
    return true
  }
  return false
}

/** Walks `db` in slices of SLICE entries, each in a fresh read transaction, yielding in between. */
async function slices(
  db: StreamDatabases['index'],
  visit: (key: Uint8Array, value: Uint8Array) => void,
  target: StreamVerifyTarget,
  check: EnvelopeChecks,
): Promise<void> {
  let after: Buffer | undefined
  for (;;) {
    let inSlice = 0
    let more = false
    try {
      db.resetReadTxn()
      for (const { key, value } of db.getRange(after === undefined ? {} : { start: after })) {
        if (after !== undefined && inSlice === 0 && bytesEqual(key, after)) continue
        if (inSlice >= SLICE) {
          more = true
          break
        }
        after = Buffer.from(key)
        inSlice++
        visit(key, value)
      }
    } catch (e) {
      check.problem('stream-index', `LMDB cannot walk the stream index further: ${toError(e).message}`)
      return
    }
    check.flush()
    if (!more) return
    await target.nextSlice()
  }
}

/** Chains each stream's runs and checks the envelopes they name, a batch at a time. */
class EnvelopeChecks {
  checked = 0
  private count = 0
  private readonly ids: EventId[] = []
  private readonly versions: bigint[] = []
  private readonly labels: string[] = []
  private readonly envelopes: (Uint8Array | undefined)[] = []
  private readonly oldest: EventId

  constructor(
    private readonly target: StreamVerifyTarget,
    private readonly head: EventId,
    private readonly problems: ProblemList,
  ) {
    this.oldest = target.oldest()
  }

  problem(where: string, detail: string, eventId?: EventId): void {
    this.problems.add({ kind: 'stream-index', where, detail, ...(eventId === undefined ? {} : { eventId }) })
  }

  /** The next run of stream `w`: it must follow the previous one; its visible events are queued. */
  run(w: Walk, run: StreamRun): void {
    if (run.version !== w.end && run.id >= this.oldest) {
      this.problem(
        `stream '${w.label}' version ${run.version}`,
        w.end === 0n
          ? `its first run starts at version ${run.version}, not 0`
          : `follows version ${w.end - 1n} with a gap: versions must be gapless`,
        run.id,
      )
    } else if (w.end > 0n && run.id <= w.endId) {
      this.problem(
        `stream '${w.label}' version ${run.version}`,
        `follows version ${w.end - 1n} (event ${w.endId}) with event ${run.id}: ids must rise`,
        run.id,
      )
    }
    w.end = run.version + BigInt(run.count)
    w.endId = run.id + run.count - 1
    // The events of the run that readers may see: up to the head, and not compacted away.
    for (let i = 0; i < run.count; i++) {
      const id = run.id + i
      if (id > this.head) break
      w.version = run.version + BigInt(i)
      w.id = id
      this.checked++
      if (id < this.oldest) continue
      this.ids[this.count] = id
      this.versions[this.count] = w.version
      this.labels[this.count++] = w.label
      if (this.count === SLICE) this.flush()
    }
  }

  /** The stored head names the stream's last event (unless it is newer than the verified head). */
  headMatches(w: Walk, stored: StreamHead): void {
    if (stored.id <= this.head && (stored.version !== w.version || stored.id !== w.id)) {
      this.problem(
        `stream '${w.label}'`,
        `its head says version ${stored.version} (event ${stored.id}) but the last event its index names is version ${w.version} (event ${w.id})`,
      )
    }
  }

  /** Each event queued says, in its envelope, that it is that version of that stream. */
  flush(): void {
    const { ids, versions, labels, envelopes, count } = this
    this.count = 0
    if (count === 0) return
    try {
      this.target.getMany(ids, count, envelopes)
    } catch {
      // A damaged event among them is reported by the event walk; here each one is read alone.
      const one: (Uint8Array | undefined)[] = [undefined]
      for (let i = 0; i < count; i++) {
        try {
          this.target.getMany([ids[i]!], 1, one)
          envelopes[i] = one[0]
        } catch {
          envelopes[i] = undefined
        }
      }
    }
    for (let i = 0; i < count; i++) {
      const where = `stream '${labels[i]}' version ${versions[i]}`
      const bytes = envelopes[i]
      envelopes[i] = undefined
      if (bytes === undefined) {
        this.problem(where, `names event ${ids[i]}, which cannot be read`, ids[i])
        continue
      }
      try {
        const ref = decodeEnvelopeHeader(bytes, `event ${ids[i]}`).stream
        if (ref === undefined) this.problem(where, `names event ${ids[i]}, which is in no stream`, ids[i])
        else if (ref.name !== labels[i] || ref.version !== versions[i]) {
          this.problem(
            where,
            `names event ${ids[i]}, which is version ${ref.version} of '${ref.name}'`,
            ids[i],
          )
        }
      } catch (e) {
        this.problem(
          where,
          `names event ${ids[i]}, whose header does not decode: ${toError(e).message}`,
          ids[i],
        )
      }
    }
  }
}
