import { ConfigError, LockTimeoutError } from './errors.js'
import { hashKey, type Key } from './keys.js'

/** Options of a {@link StripeLockManager}. */
export interface StripeLockOptions {
  /** Number of stripes; keys hash onto them (default 1024). */
  readonly stripes?: number
  /** Default wait before `LOCK_TIMEOUT`, in milliseconds (default 5000); 2^31-1 or more never times out. */
  readonly timeoutMs?: number
}

/** Locks held by one acquisition. Release exactly once; further calls do nothing. */
export interface StripeLease {
  /** Releases every stripe this acquisition holds, waking queued waiters; idempotent. */
  release(): void
}

/** Counters for metrics. */
export interface StripeLockStats {
  /** Acquisitions requested since the manager was created. */
  readonly acquisitions: number
  /** Acquisitions that had to queue behind another holder. */
  readonly waits: number
  /** Acquisitions that gave up with `LOCK_TIMEOUT`. */
  readonly timeouts: number
  /** Stripes held right now (shared or exclusive); 0 when idle, so a leak shows here. */
  readonly held: number
}

const EXCLUSIVE = -1
const MAX_TIMER_MS = 0x7fff_ffff

/**
 * Async reader-writer locks over `hash(key) mod stripes`. One acquisition takes all its stripes in
 * ascending order (so acquisitions never deadlock), each stripe is FIFO-fair (a queued writer is not
 * overtaken by later readers), and a timeout releases everything taken so far.
 *
 * @example
 * const locks = new StripeLockManager({ stripes: 256 })
 * const lease = await locks.acquire(['alice', 'bob'], ['rates'])
 * try { ... } finally { lease.release() }
 */
export class StripeLockManager {
  /** The number of stripes keys hash onto; more stripes mean fewer false conflicts between unrelated keys. */
  readonly stripes: number
  /** The wait before `LOCK_TIMEOUT` used when `acquire` is given none, in milliseconds. */
  readonly timeoutMs: number
  /** Per stripe: 0 free, > 0 number of shared holders, -1 held exclusively. */
  private readonly holders: Int32Array
  private readonly queues: (Acquisition[] | undefined)[]
  private counters = { acquisitions: 0, waits: 0, timeouts: 0 }

  constructor(options: StripeLockOptions = {}) {
    const stripes = options.stripes ?? 1024
    const timeoutMs = options.timeoutMs ?? 5000
    if (!Number.isSafeInteger(stripes) || stripes < 1 || stripes > 1 << 20) {
      throw new ConfigError(`stripes must be an integer in 1..${1 << 20}, got ${String(stripes)}`, {
        details: { field: 'stripes', value: stripes },
      })
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new ConfigError(`lockTimeoutMs must be a non-negative number, got ${String(timeoutMs)}`, {
        details: { field: 'lockTimeoutMs', value: timeoutMs },
      })
    }
    this.stripes = stripes
    this.timeoutMs = timeoutMs
    this.holders = new Int32Array(stripes)
    this.queues = new Array(stripes)
  }

  /** The stripe a key maps to. */
  stripeOf(key: Key): number {
    return hashKey(key) % this.stripes
  }

  /**
   * Takes exclusive locks for `exclusiveKeys` and shared locks for `sharedKeys` (a key in both is
   * exclusive). Rejects with `LOCK_TIMEOUT` after `timeoutMs`, holding nothing.
   */
  acquire(
    exclusiveKeys: readonly Key[],
    sharedKeys: readonly Key[] = [],
    timeoutMs = this.timeoutMs,
  ): Promise<StripeLease> {
    const lease = this.acquireOrWait(exclusiveKeys, sharedKeys, timeoutMs)
    return lease instanceof Promise ? lease : Promise.resolve(lease)
  }

  /**
   * Like {@link acquire}, but returns the lease itself when every stripe was free, so a caller on
   * a hot path goes on without waiting for a promise; a promise of it otherwise.
   */
  acquireOrWait(
    exclusiveKeys: readonly Key[],
    sharedKeys: readonly Key[] = [],
    timeoutMs = this.timeoutMs,
  ): StripeLease | Promise<StripeLease> {
    const plan = this.plan(exclusiveKeys, sharedKeys)
    this.counters.acquisitions++
    const acq = new Acquisition(this, plan)
    if (acq.advance()) return acq
    this.counters.waits++
    return acq.wait(timeoutMs)
  }

  /** Runs `fn` while holding the locks, releasing them however it ends. */
  async withLocks<R>(
    exclusiveKeys: readonly Key[],
    sharedKeys: readonly Key[],
    fn: () => R | Promise<R>,
  ): Promise<R> {
    const lease = await this.acquire(exclusiveKeys, sharedKeys)
    try {
      return await fn()
    } finally {
      lease.release()
    }
  }

  /** A snapshot of the counters, for metrics; cost is O(stripes). */
  stats(): StripeLockStats {
    let held = 0
    for (let i = 0; i < this.stripes; i++) if (this.holders[i] !== 0) held++
    return { ...this.counters, held }
  }

  /** Sorted, deduplicated stripes; bit 0 of each entry set for exclusive. */
  private plan(exclusiveKeys: readonly Key[], sharedKeys: readonly Key[]): number[] {
    const raw: number[] = []
    for (const k of exclusiveKeys) raw.push((this.stripeOf(k) << 1) | 1)
    for (const k of sharedKeys) raw.push(this.stripeOf(k) << 1)
    raw.sort((a, b) => a - b)
    const plan: number[] = []
    for (const entry of raw) {
      const last = plan.length - 1
      if (last >= 0 && plan[last]! >> 1 === entry >> 1) plan[last] = plan[last]! | entry
      else plan.push(entry)
    }
    return plan
  }

  /** @internal Grants `stripe` now if that is fair; otherwise returns false. */
  tryTake(stripe: number, exclusive: boolean, ignoreQueue: boolean): boolean {
    const h = this.holders[stripe]!
    if (!ignoreQueue && (this.queues[stripe]?.length ?? 0) > 0) return false
    if (exclusive) {
      if (h !== 0) return false
      this.holders[stripe] = EXCLUSIVE
      return true
    }
    if (h === EXCLUSIVE) return false
    this.holders[stripe] = h + 1
    return true
  }

  /** @internal */
  enqueue(stripe: number, acq: Acquisition): void {
    let q = this.queues[stripe]
    if (q === undefined) this.queues[stripe] = q = []
    q.push(acq)
  }

  /** @internal Removes a waiter (on timeout) and lets the ones behind it in. */
  dequeue(stripe: number, acq: Acquisition): void {
    const q = this.queues[stripe]
    if (q === undefined) return
    const i = q.indexOf(acq)
    if (i >= 0) q.splice(i, 1)
    this.drain(stripe)
  }

  /** @internal */
  releaseStripe(stripe: number, exclusive: boolean): void {
    this.holders[stripe] = exclusive ? 0 : this.holders[stripe]! - 1
    this.drain(stripe)
  }

  /** @internal */
  countTimeout(): void {
    this.counters.timeouts++
  }

  private drain(stripe: number): void {
    const q = this.queues[stripe]
    while (q !== undefined && q.length > 0) {
      const head = q[0]!
      if (!this.tryTake(stripe, head.wantsExclusive(), true)) return
      q.shift()
      head.granted()
    }
  }
}

class Acquisition implements StripeLease {
  /** Index of the next stripe of the plan to take. */
  private index = 0
  private released = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private resolve: ((lease: StripeLease) => void) | undefined
  private reject: ((e: Error) => void) | undefined

  constructor(
    private readonly manager: StripeLockManager,
    private readonly plan: number[],
  ) {}

  wantsExclusive(): boolean {
    return (this.plan[this.index]! & 1) === 1
  }

  /** Takes stripes in order until one is busy; true when all are held. */
  advance(): boolean {
    const { plan, manager } = this
    while (this.index < plan.length) {
      const entry = plan[this.index]!
      if (!manager.tryTake(entry >> 1, (entry & 1) === 1, false)) {
        manager.enqueue(entry >> 1, this)
        return false
      }
      this.index++
    }
    return true
  }

  wait(timeoutMs: number): Promise<StripeLease> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
      // Node fires a timer longer than 2^31-1 ms after 1 ms; such waits (~25 days) mean "no timeout".
      if (timeoutMs < MAX_TIMER_MS) this.timer = setTimeout(() => this.timeout(timeoutMs), timeoutMs)
    })
  }

  /** Called by the manager once the stripe this acquisition queued on is granted. */
  granted(): void {
    this.index++
    if (this.advance()) {
      clearTimeout(this.timer)
      this.resolve?.(this)
    }
  }

  private timeout(timeoutMs: number): void {
    const waitingOn = this.plan[this.index]!
    this.manager.countTimeout()
    this.manager.dequeue(waitingOn >> 1, this)
    this.releaseTaken()
    this.reject?.(
      new LockTimeoutError(`could not acquire stripe locks within ${timeoutMs} ms`, {
        details: { timeoutMs, stripe: waitingOn >> 1 },
      }),
    )
  }

  release(): void {
    if (this.released) return
    this.releaseTaken()
  }

  private releaseTaken(): void {
    this.released = true
    const taken = this.index
    this.index = 0
    for (let i = 0; i < taken; i++) {
      const entry = this.plan[i]!
      this.manager.releaseStripe(entry >> 1, (entry & 1) === 1)
    }
  }
}
