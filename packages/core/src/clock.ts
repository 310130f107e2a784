/**
 * The database clock: event timestamps and every wait (retry backoff, replayer) go through it,
 * so a test with a {@link ManualClock} is deterministic and fast.
 */
export interface Clock {
  /** Milliseconds since the epoch, an integer. */
  now(): number
  /** Resolves after `ms` milliseconds of this clock; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: realSleep,
})

/** A clock whose `now()` never moves (deterministic timestamps); `sleep` uses real timers. */
export function fixedClock(epochMs: number): Clock {
  return { now: () => epochMs, sleep: realSleep }
}

interface Sleeper {
  readonly until: number
  readonly resolve: () => void
}

/** A clock that moves only when told: `advance(ms)` wakes the sleepers whose time has come. */
export class ManualClock implements Clock {
  private current: number
  private sleepers: Sleeper[] = []
  /** Total milliseconds requested through `sleep`, to assert on backoff. */
  sleptMs = 0

  constructor(startMs = 0) {
    this.current = startMs
  }

  now(): number {
    return this.current
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleptMs += ms
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper)
        reject(signal?.reason)
      }
      // A woken sleeper drops its abort listener, so a long-lived signal does not collect them.
      const sleeper: Sleeper = {
        until: this.current + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      this.sleepers.push(sleeper)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Number of pending sleeps. */
  get pending(): number {
    return this.sleepers.length
  }

  /** Moves time forward and wakes every sleeper due by then, in deadline order. */
  advance(ms: number): void {
    this.current += ms
    const due = this.sleepers.filter((s) => s.until <= this.current).sort((a, b) => a.until - b.until)
    this.sleepers = this.sleepers.filter((s) => s.until > this.current)
    for (const s of due) s.resolve()
  }
}
