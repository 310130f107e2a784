/** Median, minimum and maximum of a list of figures. */
export interface Summary {
  median: number
  min: number
  max: number
}

/** Summarizes a non-empty list; the median of an even count is the mean of the middle two. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const mid = Math.floor(n / 2)
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted[n - 1]! }
}

/** The value at fraction `p` (0..1) of an ascending list (nearest rank below); 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

/** p50, p99 and max of lag samples (events behind), as a Measure's report figures. */
export function lagReport(lags: readonly number[]): Record<string, string> {
  const s = [...lags].sort((a, b) => a - b)
  return {
    'lag p50': `${percentile(s, 0.5)} events`,
    'lag p99': `${percentile(s, 0.99)} events`,
    'lag max': `${s.at(-1) ?? 0} events`,
  }
}
