import {
  closeSync,
  copyFileSync,
  fdatasync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { crc32c, type FileEventLog, openFileEventLog } from '@azothdb/store-filelog'
import type { Case, Section } from '../harness.js'
import { prng } from '../prng.js'

// Results land here so the engine cannot drop the measured work as dead code.
const blackhole = { value: 0 }
// Both sides of the iteration cases hand every record to a consumer that keeps it a while, as a
// real one can: when nothing escaped, V8 dropped the raw side's view and object allocations in some
// runs only (escape analysis), which made raw's figure swing between ~9 and ~19 M events/s.
const kept: unknown[] = new Array(16).fill(undefined)

const RECORD_BYTES = 100
const GROUP = 1_000
const HEADER = 32 // segment header
const RECORD_HEADER = 16 // u64 id, u32 length, u32 crc32c

function makePayloads(count: number): Uint8Array[] {
  const random = prng(7)
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(RECORD_BYTES)
    for (let j = 0; j < RECORD_BYTES; j++) b[j] = (random() * 256) | 0
    out.push(b)
  }
  return out
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())))
}

function segmentFile(dir: string): string {
  const name = readdirSync(dir).find((n) => n.endsWith('.seg'))
  if (name === undefined) throw new Error(`no segment in ${dir}`)
  return join(dir, name)
}

/** Durable group appends: ours (append + sync) against one write + fdatasync of the same bytes. */
function appendCase(tmpDir: string, groupsPerRun: number, payloads: Uint8Array[]): Case {
  const oursDir = join(tmpDir, 'append-ours')
  const rawFile = join(tmpDir, 'append-raw.bin')
  let log: FileEventLog | undefined
  let fd = -1
  let position = 0
  // The raw side writes the exact bytes of one group in our format; building them is not timed.
  const groupBytes = Buffer.alloc(GROUP * (RECORD_HEADER + RECORD_BYTES))
  for (let i = 0; i < GROUP; i++)
    groupBytes.set(payloads[i]!, i * (RECORD_HEADER + RECORD_BYTES) + RECORD_HEADER)
  return {
    name: `durable append (${GROUP} × ${RECORD_BYTES} B per group + sync)`,
    unit: 'events',
    params: { recordBytes: RECORD_BYTES, group: GROUP, groupsPerRun, durability: 'fdatasync per group' },
    ours: {
      async setup() {
        log = await openFileEventLog(oursDir)
      },
      async run() {
        const l = log!
        for (let g = 0; g < groupsPerRun; g++) {
          l.append(l.head() + 1, payloads)
          await l.sync()
        }
        return groupsPerRun * GROUP
      },
      async teardown() {
        await log?.close()
        rmSync(oursDir, { recursive: true, force: true })
      },
    },
    raw: {
      setup() {
        fd = openSync(rawFile, 'w')
        position = 0
      },
      async run() {
        for (let g = 0; g < groupsPerRun; g++) {
          position += writeSync(fd, groupBytes, 0, groupBytes.length, position)
          await datasync(fd)
        }
        return groupsPerRun * GROUP
      },
      teardown() {
        closeSync(fd)
        rmSync(rawFile, { force: true })
      },
    },
    target: { minOpsPerSec: 1_000_000, minRatio: 0.7 },
  }
}

/**
 * Full sequential iteration: ours (checksums checked, a record object each; by default on a worker
 * thread for read-ahead chunks, or inline) against read + parse of the same file, without
 * checksums (the floor) or with the same CRC-32C check (the same work).
 */
function iterateCase(logDir: string, events: number, checksum: boolean, background = true): Case {
  let log: FileEventLog | undefined
  let fd = -1
  const CHUNK = 1024 * 1024
  const variant = checksum ? ', raw checks crc' : background ? '' : ', ours checks inline'
  return {
    name: `sequential iteration (${events.toLocaleString('en-US')} events)${variant}`,
    unit: 'events',
    params: {
      recordBytes: RECORD_BYTES,
      events,
      ours: background ? 'crc32c of read-ahead chunks on a worker thread' : 'crc32c on the reading thread',
      raw: `1 MiB reads, a record view each, ${checksum ? 'crc32c checked' : 'no checksum'}`,
    },
    ours: {
      async setup() {
        log = await openFileEventLog(logDir, { readOnly: true, backgroundChecksums: background })
      },
      run() {
        let n = 0
        let sum = 0
        for (const r of log!.read()) {
          sum += r.bytes.length
          kept[n & 15] = r
          n++
        }
        blackhole.value = sum
        return n
      },
      async teardown() {
        await log?.close()
      },
    },
    raw: {
      setup() {
        fd = openSync(segmentFile(logDir), 'r')
      },
      run() {
        // Same layout and 1 MiB reads into fresh chunks; each record becomes a view like ours (no
        // checksum); records that straddle a chunk are carried over.
        let n = 0
        let sum = 0
        let chunk = Buffer.allocUnsafe(CHUNK)
        let chunkOffset = HEADER // file offset of chunk[0]
        let filled = 0
        let pos = 0
        for (;;) {
          const keep = filled - pos
          const next = Buffer.allocUnsafe(CHUNK)
          chunk.copy(next, 0, pos, filled)
          chunk = next
          chunkOffset += pos
          const read = readSync(fd, chunk, keep, CHUNK - keep, chunkOffset + keep)
          filled = keep + read
          pos = 0
          if (read === 0) break
          // The chunk's ArrayBuffer and offset once per chunk: their getters are costly (ours does the same).
          const arrayBuffer = chunk.buffer
          const base = chunk.byteOffset + RECORD_HEADER
          while (filled - pos >= RECORD_HEADER) {
            const length = chunk.readUInt32BE(pos + 8)
            if (filled - pos < RECORD_HEADER + length) break
            if (checksum) {
              const crc = crc32c(
                chunk,
                pos + RECORD_HEADER,
                pos + RECORD_HEADER + length,
                crc32c(chunk, pos, pos + 12),
              )
              if (crc !== chunk.readUInt32BE(pos + 12))
                throw new Error(`checksum mismatch at ${chunkOffset + pos}`)
            }
            const record = {
              id: chunk.readUInt32BE(pos + 4),
              bytes: new Uint8Array(arrayBuffer, base + pos, length),
            }
            sum += record.bytes.length + record.id
            kept[n & 15] = record
            pos += RECORD_HEADER + length
            n++
          }
        }
        blackhole.value = sum
        return n
      },
      teardown() {
        closeSync(fd)
      },
    },
    target:
      checksum || !background ? { minOpsPerSec: 3_000_000 } : { minOpsPerSec: 3_000_000, minRatio: 0.6 },
  }
}

/** Random `get` against a positional read with a dense in-memory offset table (the ideal raw). */
function getCase(logDir: string, events: number, getsPerRun: number): Case {
  let log: FileEventLog | undefined
  let fd = -1
  let offsets = new Float64Array(0)
  const buf = Buffer.allocUnsafe(RECORD_HEADER + RECORD_BYTES)
  const ids = new Float64Array(getsPerRun)
  const random = prng(11)
  for (let i = 0; i < getsPerRun; i++) ids[i] = 1 + Math.floor(random() * events)
  return {
    name: `get random id (${events.toLocaleString('en-US')}-event log)`,
    unit: 'ops',
    params: { recordBytes: RECORD_BYTES, events, raw: 'pread with a dense offset table' },
    ours: {
      async setup() {
        log = await openFileEventLog(logDir, { readOnly: true })
      },
      run() {
        let sum = 0
        for (let i = 0; i < getsPerRun; i++) sum += log!.get(ids[i]!)!.length
        blackhole.value = sum
        return getsPerRun
      },
      async teardown() {
        await log?.close()
      },
    },
    raw: {
      setup() {
        fd = openSync(segmentFile(logDir), 'r')
        offsets = new Float64Array(events + 1)
        let o = HEADER
        for (let id = 1; id <= events; id++) {
          offsets[id] = o
          o += RECORD_HEADER + RECORD_BYTES
        }
      },
      run() {
        let sum = 0
        for (let i = 0; i < getsPerRun; i++) {
          readSync(fd, buf, 0, buf.length, offsets[ids[i]!]!)
          sum += buf.readUInt32BE(8)
        }
        blackhole.value = sum
        return getsPerRun
      },
      teardown() {
        closeSync(fd)
      },
    },
    target: { minOpsPerSec: 200_000 },
  }
}

/** Opening the log: with the index sidecar written by a clean close, and after a crash (full scan). */
function openCases(tmpDir: string, logDir: string, events: number): Case[] {
  const scanDir = join(tmpDir, 'open-scan')
  const open = async (dir: string) => {
    const log = await openFileEventLog(dir, { readOnly: true })
    blackhole.value = log.head()
    await log.close()
    return 1
  }
  return [
    {
      name: `open ${events.toLocaleString('en-US')}-event log (index sidecar present)`,
      unit: 'opens',
      params: { events },
      ours: { run: () => open(logDir) },
    },
    {
      name: `open ${events.toLocaleString('en-US')}-event log (no sidecar: full checksum scan)`,
      unit: 'opens',
      params: { events },
      ours: {
        setup() {
          mkdirSync(scanDir, { recursive: true })
          const seg = segmentFile(logDir)
          copyFileSync(seg, join(scanDir, seg.slice(logDir.length + 1)))
        },
        run: () => open(scanDir),
        teardown() {
          rmSync(scanDir, { recursive: true, force: true })
        },
      },
    },
  ]
}

const section: Section = {
  name: 'filelog',
  description: '@azothdb/store-filelog: durable appends, iteration, random get and open vs raw fs',
  async cases({ quick, tmpDir }) {
    const payloads = makePayloads(GROUP)
    const events = quick ? 200_000 : 1_000_000
    // One log shared by the read cases, built once (not timed).
    const logDir = join(tmpDir, 'read-log')
    const log = await openFileEventLog(logDir)
    for (let id = 1; id <= events; id += GROUP) log.append(id, payloads)
    await log.close()
    return [
      appendCase(tmpDir, quick ? 20 : 100, payloads),
      iterateCase(logDir, events, false),
      iterateCase(logDir, events, false, false),
      iterateCase(logDir, events, true),
      getCase(logDir, events, quick ? 20_000 : 200_000),
      ...openCases(tmpDir, logDir, events),
    ]
  },
}

export default section
