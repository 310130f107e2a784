import type { EventId } from '@azothdb/core'
import {
  bytesEqual,
  decodeEnvelopeHeader,
  type ProblemList,
  readEventId,
  toError,
} from '@azothdb/core/internal'
import { readHeadEntry, readRun, type StreamDatabases, type StreamRun } from './stream-index.js'

/** Index entries checked between two yields to the event loop. */
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

/** The stream being walked: where its entries must go on, and its last entry seen. */
interface Walk {
  name: Uint8Array
  label: string
  version: bigint
  id: EventId
}

/**
 * Walks the stream index up to `head`: each stream's runs follow each other from version 0 without
 * gaps and with rising ids, each event a run names says in its envelope that it is that version of
 * that stream, and each stream's head (checksummed) is its last event. Events committed after
 * `head` are left out, as readers leave them out. Returns how many stream events were checked.
 */
export async function verifyStreams(
  target: StreamVerifyTarget,
  head: EventId,
  problems: ProblemList,
): Promise<number> {
  const dbs = target.streams
  if (dbs === undefined) return 0
  const oldest = target.oldest()
  let checked = 0
  let walk: Walk | undefined
  let after: Buffer | undefined
  const ids: EventId[] = []
  const versions: bigint[] = []
  const labels: string[] = []
  const envelopes: (Uint8Array | undefined)[] = []
  const problem = (where: string, detail: string, eventId?: EventId) =>
    problems.add({ kind: 'stream-index', where, detail, ...(eventId === undefined ? {} : { eventId }) })
  const endStream = (w: Walk) => {
    try {
      const stored = readHeadEntry(dbs, w.name)
      if (stored === undefined) problem(`stream '${w.label}'`, 'the stream has index entries but no head')
      else if (stored.id <= head && (stored.version !== w.version || stored.id !== w.id)) {
        problem(
          `stream '${w.label}'`,
          `its head says version ${stored.version} (event ${stored.id}) but the last event its index names is version ${w.version} (event ${w.id})`,
        )
      }
    } catch (e) {
      problem(`stream '${w.label}'`, toError(e).message)
    }
  }
  for (;;) {
    let inSlice = 0
    let count = 0
    let more = false
    try {
      dbs.index.resetReadTxn()
      for (const { key, value } of dbs.index.getRange(after === undefined ? {} : { start: after })) {
        if (after !== undefined && inSlice === 0 && bytesEqual(key, after)) continue
        if (inSlice >= SLICE) {
          more = true
          break
        }
        after = Buffer.from(key)
        inSlice++
        const nameLength = key[0]!
        const where = `stream-index entry ${after.toString('hex')}`
        let run: StreamRun
        try {
          run = readRun(key, value, nameLength, where)
        } catch (e) {
          problem(where, toError(e).message)
          continue
        }
        const name = key.subarray(1, 1 + nameLength)
        const last = run.version + BigInt(run.count) - 1n
        if (walk === undefined || !bytesEqual(walk.name, name)) {
          if (walk !== undefined) endStream(walk)
          const label = Buffer.from(name).toString('utf8')
          if (run.version !== 0n && run.id >= oldest) {
            problem(
              `stream '${label}'`,
              `its first index entry starts at version ${run.version}, not 0`,
              run.id,
            )
          }
          walk = { name: Buffer.from(name), label, version: -1n, id: 0 }
        } else if (run.id <= head && (run.version !== walk.version + 1n || run.id <= walk.id)) {
          problem(
            `stream '${walk.label}' version ${run.version}`,
            `follows version ${walk.version} (event ${walk.id}) with event ${run.id}: versions must be gapless with rising ids`,
            run.id,
          )
        }
        // The events of the run that readers may see: up to the head, and not compacted away.
        for (let i = 0; i < run.count; i++) {
          const id = run.id + i
          if (id > head) break
          walk.version = run.version + BigInt(i)
          walk.id = id
          checked++
          if (id < oldest) continue
          ids[count] = id
          versions[count] = walk.version
          labels[count++] = walk.label
          if (count === SLICE) {
            checkEvents(target, count, ids, versions, labels, envelopes, problem)
            count = 0
          }
        }
      }
    } catch (e) {
      problem('stream-index', `LMDB cannot walk the stream index further: ${toError(e).message}`)
      return checked
    }
    checkEvents(target, count, ids, versions, labels, envelopes, problem)
    if (!more) break
    await target.nextSlice()
  }
  if (walk !== undefined) endStream(walk)
  return checked
}

/** Each event an index entry names says, in its envelope, that it is that version of that stream. */
function checkEvents(
  target: StreamVerifyTarget,
  count: number,
  ids: readonly EventId[],
  versions: readonly bigint[],
  labels: readonly string[],
  envelopes: (Uint8Array | undefined)[],
  problem: (where: string, detail: string, eventId?: EventId) => void,
): void {
  try {
    target.getMany(ids, count, envelopes)
  } catch {
    // A damaged event among them is reported by the event walk; here each one is read alone.
    const one: (Uint8Array | undefined)[] = [undefined]
    for (let i = 0; i < count; i++) {
      try {
        target.getMany([ids[i]!], 1, one)
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
      problem(where, `names event ${ids[i]}, which cannot be read`, ids[i])
      continue
    }
    try {
      const ref = decodeEnvelopeHeader(bytes, `event ${ids[i]}`).stream
      if (ref === undefined) problem(where, `names event ${ids[i]}, which is in no stream`, ids[i])
      else if (ref.name !== labels[i] || ref.version !== versions[i]) {
        problem(where, `names event ${ids[i]}, which is version ${ref.version} of '${ref.name}'`, ids[i])
      }
    } catch (e) {
      problem(where, `names event ${ids[i]}, whose header does not decode: ${toError(e).message}`, ids[i])
    }
  }
}
