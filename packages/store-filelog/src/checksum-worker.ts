// Checks the checksums of read-ahead chunks on a second thread. Long sequential reads spend about a
// third of their time on CRC-32C even in WebAssembly; with a spare core, the next chunk is checked
// while the caller consumes the current one. A chunk is copied into a SharedArrayBuffer (records
// handed to callers stay in ordinary buffers) and the result comes back through an Atomics slot.
//
// Either side may take a job: the worker claims it before starting, and a reader that needs the
// result before the worker got to it (still booting, busy, or gone) claims it and checks it itself.
// So a slow or dead worker can delay nothing by more than one chunk it has already started.

import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Logger } from '@azoth/core'
import { CRC32C_TABLES } from './crc32c.js'
import { checksumModule, SCRATCH_BASE, SCRATCH_BYTES, verifyRecords } from './record-checksums.js'

const QUEUED = -1
const CLAIMED = -2
const TAKEN_BACK = -3
const HEADER = 8 // i32 status, i32 length
const POOL_LIMIT = 4
/**
 * How long a reader waits for a job the worker is running before checking it itself: generous
 * (the worker checks 1 MiB in about a millisecond), and longer for larger chunks.
 */
function runningJobTimeoutMs(bytes: number): number {
  return 2_000 + bytes / 50_000 // + 20 ms per MiB
}
/** Jobs in a row that outlive their timeout before the worker is given up. */
const STALLS_BEFORE_GIVING_UP = 3

// Plain JavaScript: an eval'd worker needs no loader, from sources or from dist alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { exports } = new WebAssembly.Instance(workerData.module)
new Int32Array(exports.memory.buffer, 0, workerData.tables.length).set(workerData.tables)
const memory = new Uint8Array(exports.memory.buffer)
parentPort.on('message', (sab) => {
  const status = new Int32Array(sab, 0, 2)
  if (Atomics.compareExchange(status, 0, ${QUEUED}, ${CLAIMED}) !== ${QUEUED}) return
  const length = status[1]
  const data = new Uint8Array(sab, ${HEADER}, length)
  let o = 0
  while (length - o >= 16) {
    const n = Math.min(length - o, ${SCRATCH_BYTES})
    memory.set(data.subarray(o, o + n), ${SCRATCH_BASE})
    const done = exports.verify(${SCRATCH_BASE}, ${SCRATCH_BASE} + n) - ${SCRATCH_BASE}
    o += done
    if (done === 0) break
  }
  Atomics.store(status, 0, o)
  Atomics.notify(status, 0)
})
`

/** A chunk submitted for checking. */
export class ChecksumJob {
  constructor(
    private readonly owner: ChecksumWorker,
    private readonly sab: SharedArrayBuffer,
    private readonly status: Int32Array,
    private readonly bytes: Uint8Array,
    private readonly length: number,
  ) {}

  /** How many leading bytes of the chunk are whole, intact records (blocks until known). */
  result(): number {
    const status = this.status
    if (Atomics.compareExchange(status, 0, QUEUED, TAKEN_BACK) === QUEUED) {
      this.owner.release(this.sab)
      return verifyRecords(this.bytes, 0, this.length)
    }
    const timeout = runningJobTimeoutMs(this.length)
    const deadline = performance.now() + timeout
    while (Atomics.load(status, 0) === CLAIMED) {
      if (Atomics.wait(status, 0, CLAIMED, 100) === 'timed-out' && performance.now() > deadline) {
        this.owner.stalled(timeout)
        return verifyRecords(this.bytes, 0, this.length)
      }
    }
    const verified = Atomics.load(status, 0)
    this.owner.answered()
    this.owner.release(this.sab)
    return verified
  }
}

let shared: ChecksumWorker | undefined
let unavailable = false

/** The process's checksum worker, started on first use; undefined on a single core or after a failure. */
export function checksumWorker(logger: Logger): ChecksumWorker | undefined {
  if (shared !== undefined || unavailable) return shared
  if (availableParallelism() < 2) {
    unavailable = true
    return undefined
  }
  try {
    shared = new ChecksumWorker(logger)
  } catch (e) {
    unavailable = true
    logger.warn({ err: e }, 'could not start the event log checksum worker; checksums are checked inline')
  }
  return shared
}

/** @internal Exported for tests: the worker behind {@link checksumWorker}. */
export class ChecksumWorker {
  /** Jobs the worker failed to finish in time and read-aheads that failed (logged, each counted). */
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
    // A background helper: it must never keep the process alive.
    this.worker.unref()
    this.worker.on('error', (e) => this.fail(e, 'failed'))
    this.worker.on('exit', (code) => {
      if (!this.broken) this.fail(new Error(`exited with code ${code}`), 'exited')
    })
  }

  /** Starts checking the records in `bytes[0, length)`; undefined when the worker is unusable. */
  submit(bytes: Uint8Array, length: number): ChecksumJob | undefined {
    if (this.broken) return undefined
    let sab = this.pool.pop()
    if (sab === undefined || sab.byteLength < HEADER + length) sab = new SharedArrayBuffer(HEADER + length)
    const status = new Int32Array(sab, 0, 2)
    // QUEUED goes in last: a message still in flight for this buffer's previous job may claim
    // whatever job the buffer holds once it reads QUEUED, so the data must be complete by then.
    status[1] = length
    new Uint8Array(sab, HEADER, length).set(bytes.subarray(0, length))
    Atomics.store(status, 0, QUEUED)
    this.worker.postMessage(sab)
    return new ChecksumJob(this, sab, status, bytes, length)
  }

  /** @internal A finished job's buffer goes back to the pool. */
  release(sab: SharedArrayBuffer): void {
    if (this.pool.length < POOL_LIMIT) this.pool.push(sab)
  }

  /** @internal A running job did not finish in time; a few in a row and the worker is given up. */
  stalled(timeoutMs: number): void {
    this.failures++
    if (++this.stallsInARow < STALLS_BEFORE_GIVING_UP) {
      this.logger.warn(
        { timeoutMs },
        'event log checksum worker was slow; the reader checked the chunk itself',
      )
      return
    }
    this.fail(new Error(`${STALLS_BEFORE_GIVING_UP} jobs in a row got no answer in time`), 'stalled')
  }

  /** @internal A reader could not read a chunk ahead (it reads it again when it needs it). */
  readAheadFailed(e: unknown): void {
    this.failures++
    this.logger.warn({ err: e }, 'event log read-ahead failed; the reader will read that chunk itself')
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
      `event log checksum worker ${what}; checksums are checked inline from now on`,
    )
  }
}
