// Reads the chunks of a long event scan ahead of the reader and checks their checksums on a
// second thread. Checked inline, the CRC of the events costs about a quarter of a scan that reads
// only ids, types and streams; with a spare core the worker reads and checks the next chunks
// while the reader hands out the current ones. The worker sends each job's chunks in a buffer of
// their own, transferred, not copied: the reader neither reads LMDB nor copies for them, and the
// events it hands out live in ordinary memory and are exactly the bytes that were checked. The
// same design as the file log's read-ahead worker, which copies out of shared memory instead.
//
// How the worker reads LMDB: it opens the store's data file with lmdb-js, read-only. lmdb-js keeps
// one LMDB environment per file per process and hands a thread that opens a file already open the
// environment the first thread opened (matched by device and inode), counting its users: the
// worker shares the store's environment, its flags and its map, takes no lock of ours, opens no
// second reader table, and its `readOnly` makes lmdb-js refuse any write (it never asks for one).
// It checks that the file at the path is the one the store opened (else it would open another
// environment on the same lock file). Its read transactions are short (one job each) and reset
// after each job, so it pins no old snapshot. The environment is closed when the last of its users
// closes it: the worker is terminated when the store closes, before the store closes its own
// handle, so one per store rather than one per process (a worker outliving its store would keep
// the file open and hand a store reopened in this process the old environment).
//
// Either side may take a job: the worker claims it before starting, and a reader that needs the
// chunks before the worker got to them (still booting, busy, or gone) takes the job back and
// reads them itself; so does a reader that finds the job still running a millisecond later (a
// descheduled or dead worker). So a slow or dead worker delays a scan by at most that.

import { statSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads'
import type { EventId, Logger } from '@azothdb/core'
import { CRC32C_TABLES, toError } from '@azothdb/core/internal'
import { checksumModule } from './chunk-checksums.js'
import {
  CLAIMED,
  DONE,
  HEADER_INTS,
  JOB_STATUS_BYTES,
  MAX_CHUNKS,
  TAKEN_BACK,
  WORKER_SOURCE,
} from './chunk-read-ahead-source.js'

export { JOB_BYTES } from './chunk-read-ahead-source.js'

const POOL_LIMIT = 8
/**
 * How long a reader waits for a job the worker is running before it reads the chunks itself. A job
 * takes the worker about 0.2 ms; one still running a millisecond later is late: the worker was
 * descheduled (a busy machine), is slower than the reader (a reader that does little per event
 * outruns the checksums), or is gone. Then reading the job's chunks here while the worker goes on
 * to the next ones is quicker than waiting. Waiting less took back jobs the worker was about to
 * finish: `db.events()` over 1,000,000 events, ids and types only, on a machine busy with other
 * work, measured 2.8M events/s with 0.2 ms against 3.5M with 1 ms (3.0M checking inline).
 */
const RUNNING_JOB_WAIT_MS = 1

/**
 * @internal How long a reader waits for the worker: a job still queued (0: not at all) and a job
 * running. Tests that must see the worker answer raise both: on a machine busy with other tests the
 * worker may not get a core within these defaults, which is right for a scan and wrong for a test
 * of the worker's results. A worker gone or unusable is never waited for.
 */
export const readAheadPatience = { queuedMs: 0, runningMs: RUNNING_JOB_WAIT_MS }
/** How long `close()` waits for the worker to stop before it goes on without it. */
const TERMINATE_TIMEOUT_MS = 5_000

/** Chunks the worker read and checked: `count` values back to back in `data`. */
export interface ChunkBatch {
  readonly data: Uint8Array
  readonly count: number
  /** Per chunk: its value's length, then the index of its first event not proven intact. */
  readonly meta: Int32Array
  /** The first id of the first chunk (meaningless when there is none). */
  readonly firstId: EventId
  /** Events in the chunks. */
  readonly events: number
}

/** The chunks whose first ids lie in `[start, end)`, submitted for reading and checking. */
export class ReadAheadJob {
  constructor(
    private readonly owner: ChunkReadAheadWorker,
    readonly start: EventId,
    readonly end: EventId,
    private readonly seq: number,
    private readonly sab: SharedArrayBuffer,
    private readonly head: Int32Array,
  ) {}

  /**
   * The chunks (blocks until the worker is done with them); undefined when the caller must read
   * them itself: the worker had not started, took too long, failed (logged, counted), or is gone.
   */
  result(): ChunkBatch | undefined {
    const head = this.head
    const { queuedMs, runningMs } = readAheadPatience
    if (queuedMs > 0) {
      const deadline = performance.now() + queuedMs
      while (Atomics.load(head, 0) === this.seq && this.owner.usable && performance.now() < deadline) {
        Atomics.wait(head, 0, this.seq, 1)
      }
    }
    if (Atomics.compareExchange(head, 0, this.seq, TAKEN_BACK) === this.seq) {
      this.owner.release(this.sab)
      return undefined
    }
    if (Atomics.wait(head, 0, CLAIMED, this.owner.usable ? runningMs : RUNNING_JOB_WAIT_MS) === 'timed-out') {
      // Taken back while running: the worker drops its result, and this buffer, which it may still
      // write, is never reused.
      if (Atomics.compareExchange(head, 0, CLAIMED, TAKEN_BACK) === CLAIMED) {
        this.owner.tookBackRunning++
        this.owner.forget(this.seq)
        return undefined
      }
    }
    // Answered (DONE or FAILED): its message was posted before its status.
    const data = this.owner.takeResult(this.seq)
    let batch: ChunkBatch | undefined
    if (data != null && Atomics.load(head, 0) === DONE) {
      this.owner.answered()
      const count = head[1]!
      batch = {
        data: new Uint8Array(data),
        count,
        meta: head.slice(HEADER_INTS, HEADER_INTS + 2 * count),
        firstId: head[3]! * 0x1_0000_0000 + (head[4]! >>> 0),
        events: head[5]!,
      }
    }
    this.owner.release(this.sab)
    return batch
  }

  /** The chunks are not needed after all: the worker skips the job, or stops it, or its result is dropped. */
  abandon(): void {
    let was = Atomics.compareExchange(this.head, 0, this.seq, TAKEN_BACK)
    if (was === this.seq) {
      this.owner.release(this.sab)
      return
    }
    this.owner.forget(this.seq)
    if (was === CLAIMED) was = Atomics.compareExchange(this.head, 0, CLAIMED, TAKEN_BACK)
    // A job taken back while running keeps its buffer: the worker may still write it.
    if (was !== CLAIMED) this.owner.release(this.sab)
  }
}

/** Workers not yet terminated (tests check that closing a store ends its worker). */
export const liveReadAheadWorkers = new Set<ChunkReadAheadWorker>()

/** The data file a worker reads and the identity (device, inode) the store opened. */
export interface ReadAheadTarget {
  readonly path: string
  readonly dev: number
  readonly ino: number
}

/**
 * What a store's read-ahead worker will read: its data file as open now (just opened by LMDB), or
 * undefined when background checks are off or there is no spare core to run them on.
 */
export function readAheadTarget(path: string, wanted: boolean): ReadAheadTarget | undefined {
  if (!wanted || os.availableParallelism() < 2) return undefined
  const { dev, ino } = statSync(path)
  return { path, dev, ino }
}

/**
 * Whether a core is free for the worker now: the 1-minute load average is below the cores less a
 * half (a scanning thread of this process counts in it). On a machine whose cores are all busy the
 * worker only takes CPU time from the scanning thread (the scheduler shares the cores among all
 * runnable threads; the worker's jobs still arrive in time): `db.events()` over 1,000,000 events,
 * ids and types only, measured 2.31M events/s through the worker against 2.65M checking inline,
 * with another process keeping a core busy. Windows reports no load average: always free there.
 */
export function spareCore(): boolean {
  return os.loadavg()[0]! < os.availableParallelism() - 0.5
}

/** A store's read-ahead worker: started at its first long scan, terminated when the store closes. */
export class ChunkReadAheadWorker {
  /** Jobs the worker failed, results missing, and its own failures (logged, each counted). */
  failures = 0
  /** Jobs the worker answered (tests check that a scan went through it). */
  answeredJobs = 0
  /** Jobs taken back from the worker while it ran them (it was late: a busy machine). */
  tookBackRunning = 0
  #terminated = false
  #broken = false
  #seq = 0
  readonly #worker: Worker
  /** Set by the worker once it has opened the environment: until then jobs are not sent. */
  readonly #ready = new Int32Array(new SharedArrayBuffer(4))
  readonly #pool: SharedArrayBuffer[] = []
  /** Where the worker sends the chunks of the jobs it finished, in job order; read synchronously. */
  readonly #results: MessagePort
  /** Results read for jobs not taken yet (another scan's, running alongside). */
  readonly #kept = new Map<number, ArrayBuffer | null>()
  /** Jobs given up after the worker claimed them, whose results are still to come. */
  readonly #givenUp = new Set<number>()

  constructor(
    target: ReadAheadTarget,
    private readonly logger: Logger,
  ) {
    const { port1, port2 } = new MessageChannel()
    this.#results = port1
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      transferList: [port2],
      workerData: {
        results: port2,
        lmdb: createRequire(import.meta.url).resolve('lmdb'),
        path: target.path,
        dev: target.dev,
        ino: target.ino,
        ready: this.#ready.buffer,
        module: checksumModule(),
        tables: CRC32C_TABLES,
      },
    })
    liveReadAheadWorkers.add(this)
    this.#worker.on('message', (m: { start: EventId; message: string }) => {
      // Only a guess at what comes next: the reader's own read of those chunks raises what is real.
      this.failures++
      this.logger.warn(
        { eventId: m.start, err: m.message },
        'event read-ahead failed; the reader reads those chunks itself',
      )
    })
    this.#worker.on('error', (e) => this.#fail(e, 'failed'))
    this.#worker.on('exit', (code) => {
      liveReadAheadWorkers.delete(this)
      if (!this.#terminated) this.#fail(new Error(`exited with code ${code}`), 'exited')
    })
    // A background helper: it must never keep the process alive (after the listeners, which ref it).
    this.#worker.unref()
  }

  /** False once the worker failed or was terminated: scans check inline from then on. */
  get usable(): boolean {
    return !this.#broken
  }

  /** True once the worker has opened the environment and takes jobs. */
  get booted(): boolean {
    return Atomics.load(this.#ready, 0) === 1
  }

  get terminated(): boolean {
    return this.#terminated
  }

  /**
   * Starts reading and checking the chunks whose first ids lie in `[start, end)`; undefined while
   * the worker boots and once it is unusable.
   */
  submit(start: EventId, end: EventId): ReadAheadJob | undefined {
    if (this.#broken || Atomics.load(this.#ready, 0) !== 1) return undefined
    // Results of jobs given up are dropped here too, so scans abandoned early hold no memory.
    this.#receive(-1)
    const sab = this.#pool.pop() ?? new SharedArrayBuffer(JOB_STATUS_BYTES)
    const head = new Int32Array(sab, 0, HEADER_INTS + 2 * MAX_CHUNKS)
    // Sequence numbers stay positive: a status above 0 means queued.
    const seq = (this.#seq = (this.#seq % 0x7fff_ffff) + 1)
    Atomics.store(head, 0, seq)
    this.#worker.postMessage({ sab, seq, start, end })
    return new ReadAheadJob(this, start, end, seq, sab, head)
  }

  /**
   * @internal The chunks of job `seq`, which the worker answered (null when it failed): its message
   * was posted before its status said so. Messages of other jobs met on the way are kept for them,
   * or dropped when their job was given up.
   */
  takeResult(seq: number): ArrayBuffer | null | undefined {
    const kept = this.#kept.get(seq)
    if (kept !== undefined) {
      this.#kept.delete(seq)
      return kept
    }
    const data = this.#receive(seq)
    if (data === undefined) {
      // Cannot happen while messages pair with jobs; if it does, the scan reads the chunks itself.
      this.failures++
      this.logger.warn({ seq }, 'event read-ahead result missing; the reader reads those chunks itself')
    }
    return data
  }

  /** @internal Job `seq`, which the worker claimed, was given up: its message is dropped. */
  forget(seq: number): void {
    if (!this.#kept.delete(seq)) this.#givenUp.add(seq)
  }

  /** Reads the results posted so far, up to the one of job `until` (returned), keeping the others. */
  #receive(until: number): ArrayBuffer | null | undefined {
    for (;;) {
      const received = receiveMessageOnPort(this.#results) as
        | { message: { seq: number; data: ArrayBuffer | null } }
        | undefined
      if (received === undefined) return undefined
      const { seq, data } = received.message
      if (seq === until) return data
      if (!this.#givenUp.delete(seq)) this.#kept.set(seq, data)
    }
  }

  /** @internal A job's buffer that the worker no longer writes goes back to the pool. */
  release(sab: SharedArrayBuffer): void {
    if (this.#pool.length < POOL_LIMIT) this.#pool.push(sab)
  }

  /** @internal A job was answered. */
  answered(): void {
    this.answeredJobs++
  }

  /**
   * Stops the worker and waits for it to release the environment (the store closes its own handle
   * next); a worker that does not stop in time is logged and left behind, never waited for forever.
   */
  async terminate(): Promise<void> {
    if (this.#terminated) return
    this.#terminated = true
    this.#broken = true
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), TERMINATE_TIMEOUT_MS)
    })
    try {
      const outcome = await Promise.race([this.#worker.terminate(), late])
      if (outcome === 'late') {
        this.failures++
        this.logger.warn({ timeoutMs: TERMINATE_TIMEOUT_MS }, 'event read-ahead worker did not stop in time')
      }
    } catch (e) {
      this.failures++
      this.logger.warn({ err: toError(e) }, 'stopping the event read-ahead worker failed')
    } finally {
      clearTimeout(timer)
      this.#results.close()
      this.#kept.clear()
      this.#givenUp.clear()
      liveReadAheadWorkers.delete(this)
    }
  }

  #fail(e: unknown, what: string): void {
    if (this.#broken) return
    this.#broken = true
    this.failures++
    this.logger.warn({ err: e }, `event read-ahead worker ${what}; scans check checksums inline from now on`)
  }
}
