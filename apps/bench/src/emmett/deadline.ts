/**
 * A peer's call that waits longer than `ms` (Emmett's SQLite store under 64 concurrent callers can
 * queue for minutes) rejects, so the case fails instead of holding the whole bench run.
 */
export async function withDeadline<T>(call: Promise<T>, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a call took more than ${ms / 1000} s`)), ms)
  })
  try {
    return await Promise.race([call, deadline])
  } finally {
    clearTimeout(timer)
  }
}
