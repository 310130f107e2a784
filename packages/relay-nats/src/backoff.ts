/** The wait before attempt `failures + 1`: doubling from `initial`, capped at `max`, with ±20% jitter. */
export function backoffDelay(failures: number, initial: number, max: number): number {
  const base = Math.min(max, initial * 2 ** Math.min(failures - 1, 30))
  return base * (0.8 + Math.random() * 0.4)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
