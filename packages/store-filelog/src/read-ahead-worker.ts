// Reads the next chunk of a long sequential read and checks its checksums on a second thread.
// Reading and checksumming are about half the work of iterating 100-byte records; with a spare
// core the worker reads and checks chunk n+1 while the caller consumes chunk n, and the caller's
// only extra cost is copying the checked bytes out of the shared buffer (so records handed to
// callers stay in ordinary buffers, and they are exactly the bytes that were checked).
//
// The worker opens the segment by path itself: a descriptor of the reading thread may be closed
// (and its number reused) at any time, a path of a segment file never names a different file.
//
// Either side may take a job: the worker claims it before starting, and a reader that needs the
// chunk before the worker got to it (still booting, busy, or gone) takes it back and reads it
// itself. So a slow or dead worker can delay nothing by more than one chunk it has already started.

import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Logger } from '@azothdb/core'
import { CRC32C_TABLES } from '@azothdb/core/internal'
import { checksumModule, SCRATCH_BASE, SCRATCH_BYTES } from './record-checksums.js'

const QUEUED = -1
const CLAIMED = -2
const TAKEN_BACK = -3
const FAILED = -4
const HEADER = 8 // i32 status (a state above, or the checked length), i32 bytes read
const POOL_LIMIT = 4
/**
 * How long a reader waits for a job the worker is running before reading the chunk itself:
 * generous (the worker reads and checks 1 MiB in about a millisecond), and longer for larger chunks.
 */
function runningJobTimeoutMs(bytes: number): number {
  return 2_000 + bytes / 50_000 // + 20 ms per MiB
}
/** Jobs in a row that outlive their timeout before the worker is given up. */
const STALLS_BEFORE_GIVING_UP = 3

// Plain JavaScript: an eval'd worker needs no loader, from sources or from dist alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { openSync, readSync, closeSync } = require('node:fs')
const { exports } = new WebAssembly.Instance(workerData.module)
new Int32Array(exports.memory.buffer, 0, workerData.tables.length).set(workerData.tables)
const memory = new Uint8Array(exports.memory.buffer)
parentPort.on('message', ({ sab, path, offset, size }) => {
  const status = new Int32Array(sab, 0, 2)
  if (Atomics.compareExchange(status, 0, ${QUEUED}, ${CLAIMED}) !== ${QUEUED}) return
  const data = new Uint8Array(sab, ${HEADER}, size)
  let filled = 0
  let checked = 0
  try {
    const fd = openSync(path, 'r')
    try {
      // Pieces are read into the module's scratch (reading into shared memory is about twice as
      // slow), checked there and copied out; a record cut at a piece's end starts the next piece.
      let carry = 0
      while (filled < size && carry < ${SCRATCH_BYTES}) {
        const want = Math.min(${SCRATCH_BYTES} - carry, size - filled)
        let n = 0
        while (n < want) {
          const r = readSync(fd, memory, ${SCRATCH_BASE} + carry + n, want - n, offset + filled + n)
          if (r === 0) break
          n += r
        }
        const piece = carry + n
        data.set(memory.subarray(${SCRATCH_BASE} + carry, ${SCRATCH_BASE} + piece), filled)
        filled += n
        const done = exports.verify(${SCRATCH_BASE}, ${SCRATCH_BASE} + piece) - ${SCRATCH_BASE}
        checked += done
        carry = piece - done
        if (n < want || carry >= 16 && 16 + readU32(${SCRATCH_BASE} + done + 8) <= carry) break
        memory.copyWithin(${SCRATCH_BASE}, ${SCRATCH_BASE} + done, ${SCRATCH_BASE} + piece)
      }
    } finally {
      closeSync(fd)
    }
  } catch (e) {
    checked = ${FAILED}
    parentPort.postMessage({ path, offset, message: String(e && e.message) })
  }
  status[1] = filled
  Atomics.store(status, 0, checked)
  Atomics.notify(status, 0)
})
function readU32(o) {
  return ((memory[o] << 24) | (memory[o + 1] << 16) | (memory[o + 2] << 8) | memory[o + 3]) >>> 0
}
`

/** A chunk read and checked by the worker: `checked` leading bytes of it are whole, intact records. */
export interface ReadAheadChunk {
  readonly buffer: Buffer
  readonly filled: number
  readonly checked: number
}

/** A chunk submitted for reading and checking. */
export class ReadAheadJob {
  constructor(
    private readonly owner: ReadAheadWorker,
    private readonly sab: SharedArrayBuffer,
    private readonly status: Int32Array,
    private readonly size: number,
  ) {}

  /**
   * The chunk (blocks until the worker is done with it); undefined when the caller must read it
   * itself: the worker had not started it, took too long, or could not read it (logged, counted).
   */
  result(): ReadAheadChunk | undefined {
    const status = this.status
    // Not started: taken back. Its buffer is not reused, since the job's message is still queued.
    if (Atomics.compareExchange(status, 0, QUEUED, TAKEN_BACK) === QUEUED) return undefined
    const timeout = runningJobTimeoutMs(this.size)
    const deadline = performance.now() + timeout
    while (Atomics.load(status, 0) === CLAIMED) {
      if (Atomics.wait(status, 0, CLAIMED, 100) === 'timed-out' && performance.now() > deadline) {
        this.owner.stalled(timeout)
        return undefined
      }
    }
    const checked = Atomics.load(status, 0)
    this.owner.answered()
    let chunk: ReadAheadChunk | undefined
    if (checked !== FAILED) {
      const filled = status[1]!
      const buffer = Buffer.allocUnsafe(filled)
      buffer.set(new Uint8Array(this.sab, HEADER, filled))
      chunk = { buffer, filled, checked }
    }
    this.owner.release(this.sab)
    return chunk
  }

  /** The chunk is not needed after all: the worker skips it if it has not started it. */
  abandon(): void {
    Atomics.compareExchange(this.status, 0, QUEUED, TAKEN_BACK)
  }
}

let shared: ReadAheadWorker | undefined
let unavailable = false

/** The process's read-ahead worker, started on first use; undefined on a single core or after a failure. */
export function readAheadWorker(logger: Logger): ReadAheadWorker | undefined {
  if (shared !== undefined || unavailable) return shared
  if (availableParallelism() < 2) {
    unavailable = true
    return undefined
  }
  try {
    shared = new ReadAheadWorker(logger)
  } catch (e) {
    unavailable = true
    logger.warn({ err: e }, 'could not start the event log read-ahead worker; reads check checksums inline')
  }
  return shared
}

/** @internal Exported for tests: the worker behind {@link readAheadWorker}. */
export class ReadAheadWorker {
  /** Jobs the worker failed to finish in time or could not read (logged, each counted). */
  failures = 0
  private readonly worker: Worker
  private readonly pool: SharedArrayBuffer[] = []
  private broken = false
  private stallsInARow = 0

  constructor(private readonly logger: Logger) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: checksumModule(), tables: CRC32C_TABLES },
    })
    this.worker.on('message', (m: { path: string; offset: number; message: string }) => {
      // Only a guess at what comes next: the reader's own read of that chunk raises what is real.
      this.failures++
      this.logger.warn(
        { file: m.path, offset: m.offset, err: m.message },
        'event log read-ahead failed; the reader will read that chunk itself',
      )
    })
    this.worker.on('error', (e) => this.fail(e, 'failed'))
    this.worker.on('exit', (code) => {
      if (!this.broken) this.fail(new Error(`exited with code ${code}`), 'exited')
    })
    // A background helper: it must never keep the process alive (after the listeners, which ref it).
    this.worker.unref()
  }

  /** Starts reading `size` bytes of the file at `path` from `offset`; undefined when the worker is unusable. */
  submit(path: string, offset: number, size: number): ReadAheadJob | undefined {
    if (this.broken) return undefined
    let sab = this.pool.pop()
    if (sab === undefined || sab.byteLength < HEADER + size) sab = new SharedArrayBuffer(HEADER + size)
    const status = new Int32Array(sab, 0, 2)
    Atomics.store(status, 0, QUEUED)
    this.worker.postMessage({ sab, path, offset, size })
    return new ReadAheadJob(this, sab, status, size)
  }

  /** @internal The buffer of a job the worker answered goes back to the pool. */
  release(sab: SharedArrayBuffer): void {
    if (this.pool.length < POOL_LIMIT) this.pool.push(sab)
  }

  /** @internal A running job did not finish in time; a few in a row and the worker is given up. */
  stalled(timeoutMs: number): void {
    this.failures++
    if (++this.stallsInARow < STALLS_BEFORE_GIVING_UP) {
      this.logger.warn(
        { timeoutMs },
        'event log read-ahead worker was slow; the reader read the chunk itself',
      )
      return
    }
    this.fail(new Error(`${STALLS_BEFORE_GIVING_UP} jobs in a row got no answer in time`), 'stalled')
  }

  /** @internal A job was answered. */
  answered(): void {
    this.stallsInARow = 0
  }

  /** Stops the worker (tests; the process never needs to: the worker is unref'd). */
  async terminate(): Promise<void> {
    this.broken = true
    await this.worker.terminate()
  }

  private fail(e: unknown, what: string): void {
    if (this.broken) return
    this.broken = true
    this.failures++
    if (shared === this) {
      shared = undefined
      unavailable = true
    }
    this.logger.warn(
      { err: e },
      `event log read-ahead worker ${what}; reads check checksums inline from now on`,
    )
  }
}
