/** Milliseconds since `start` (a `performance.now()`), to the microsecond: durations in log records. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000
}
