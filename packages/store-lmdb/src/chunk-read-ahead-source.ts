import { SCRATCH_BASE, SCRATCH_BYTES } from './chunk-checksums.js'

/*
 * The job protocol shared by the read-ahead worker (below) and the reading thread
 * (chunk-read-ahead.ts). A job reads the chunks whose keys (first ids) lie in [start, end): jobs
 * over consecutive ranges hand out consecutive chunks, so a reader can have several in flight
 * without knowing where chunks start. A job's SharedArrayBuffer: i32 words [status, chunks,
 * bytes, first chunk's id high, low, events], then two i32 per chunk (its value's length, the
 * index of its first event the check did not prove intact). The chunks' values, back to back, come
 * in an ArrayBuffer of their own, transferred (not copied) through a message port before the
 * status says DONE: the reader takes it synchronously and hands out views of it, so the reading
 * thread copies nothing. Every job the worker claims gets exactly one message, so the reader can
 * pair them by sequence number whatever it gave up meanwhile.
 *
 * status: the job's sequence number (> 0) while queued; the worker claims it by swapping that for
 * CLAIMED, so a buffer reused for a later job is never taken by a stale message of an earlier one.
 */

export const CLAIMED = -1
export const TAKEN_BACK = -2
export const FAILED = -3
export const DONE = -4
export const HEADER_INTS = 6
/** Chunks per job at most. */
export const MAX_CHUNKS = 256
/** Bytes of chunks one job reads at most: some 32 entries of the default 16 KiB. */
export const JOB_BYTES = Math.min(512 * 1024, SCRATCH_BYTES) // gathered in the checksum scratch
/** A job's shared buffer: its header and the per-chunk words. */
export const JOB_STATUS_BYTES = 4 * (HEADER_INTS + 2 * MAX_CHUNKS)

// Plain JavaScript: an eval'd worker needs no loader, from sources or from dist alike. It loads
// lmdb-js by the path the reading thread resolved (an eval'd worker resolves modules from the
// process's working directory, not from this package).
export const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { statSync } = require('node:fs')
const { open } = require(workerData.lmdb)
// The store's environment, which lmdb-js shares with the thread that opened it: it finds the open
// environment of the same file (device and inode) and hands it out instead of opening another. A
// file put in the store's place would get an environment of its own, on the same LMDB lock file:
// another file's events, and closing it would drop this process's locks on the lock file, which
// the store's environment holds too. So the file is checked before the open (and after, in case it
// was swapped in between: then that environment is left open, never closed).
checkIdentity()
const env = open({ path: workerData.path, readOnly: true, keyEncoding: 'binary', encoding: 'binary' })
checkIdentity()
const { exports } = new WebAssembly.Instance(workerData.module)
new Int32Array(exports.memory.buffer, 0, workerData.tables.length).set(workerData.tables)
const memory = new Uint8Array(exports.memory.buffer)
// The chunks of a job gather in the module's memory, one after another, and are checked there; then
// they go out in one buffer of their exact size. A decoder that copies is handed LMDB's own bytes
// (lmdb-js's read buffer or the memory map) rather than a copy of them: one copy per byte in all.
let used = 0
const intoMemory = {
  encode: (value) => value,
  decode(bytes, size) {
    if (size > ${JOB_BYTES} - used) return -1
    // (lmdb-js's read buffer is larger than the value: its length property is not its extent.)
    memory.set(new Uint8Array(bytes.buffer, bytes.byteOffset, size), ${SCRATCH_BASE} + used)
    return size
  },
}
const db = env.openDB({ name: 'events', keyEncoding: 'binary', encoder: intoMemory, create: false })
if (!db) throw new Error('the store has no events database')
const key = Buffer.alloc(8)
const endKey = Buffer.alloc(8)
Atomics.store(new Int32Array(workerData.ready), 0, 1)

const results = workerData.results

parentPort.on('message', ({ sab, seq, start, end }) => {
  const head = new Int32Array(sab, 0, ${HEADER_INTS + 2 * MAX_CHUNKS})
  if (Atomics.compareExchange(head, 0, seq, ${CLAIMED}) !== seq) return
  let status = ${DONE}
  let n = 0
  used = 0
  let first = -1
  let expected = -1
  try {
    // A fresh snapshot: it holds every chunk up to the reader's head, which is committed. Events
    // at or below a head never change, so these bytes are the ones the reader's own read would get.
    db.resetReadTxn()
    key.writeBigUInt64BE(BigInt(start))
    endKey.writeBigUInt64BE(BigInt(end))
    for (const { key: k, value: length } of db.getRange({ start: key, end: endKey })) {
      // Anything unexpected (a gap, a damaged header, no room) ends the job before that entry:
      // the reader reads it itself and reports it as it always did.
      // Taken back meanwhile (this worker ran late): the reader reads these chunks itself.
      if (Atomics.load(head, 0) !== ${CLAIMED} || k.length !== 8) break
      const id = u32(k, 0) * 0x100000000 + u32(k, 4)
      if (expected === -1) first = expected = id
      else if (id !== expected) break
      // The value is in memory at base (-1: it did not fit in what is left of the job).
      const base = ${SCRATCH_BASE} + used
      if (n === ${MAX_CHUNKS} || length < 4) break
      const count = u32(memory, base)
      const dataStart = 4 + 8 * count
      if (count === 0 || dataStart > length || dataStart + u32(memory, base + 4 * count) !== length) break
      const verified = exports.verify(base, length, Math.floor(id / 0x100000000), id >>> 0, 0, count)
      head[${HEADER_INTS} + 2 * n] = length
      head[${HEADER_INTS + 1} + 2 * n] = verified
      used += length
      n++
      expected += count
    }
  } catch (e) {
    status = ${FAILED}
    parentPort.postMessage({ start, message: String(e && e.message) })
  }
  try {
    // An idle worker must not pin a snapshot: LMDB could not reuse the pages it holds.
    db.resetReadTxn()
  } catch {}
  // Every job claimed gets one message (its chunks, or null), posted before its status: the reader
  // pairs messages with jobs by seq and drops those of jobs it gave up.
  let out = null
  if (status === ${DONE} && Atomics.load(head, 0) === ${CLAIMED}) {
    head[1] = n
    head[2] = used
    head[3] = Math.floor(first / 0x100000000)
    head[4] = first >>> 0
    head[5] = expected - first
    out = memory.slice(${SCRATCH_BASE}, ${SCRATCH_BASE} + used).buffer
  }
  results.postMessage({ seq, data: out }, out === null ? [] : [out])
  // Only a job still claimed is answered: one the reader took back meanwhile it reads itself.
  if (Atomics.compareExchange(head, 0, ${CLAIMED}, status) === ${CLAIMED}) Atomics.notify(head, 0)
})
function checkIdentity() {
  const { dev, ino } = statSync(workerData.path)
  if (dev !== workerData.dev || ino !== workerData.ino) {
    throw new Error('the data file is not the one the store opened (replaced since)')
  }
}
function u32(b, o) {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0
}
`
