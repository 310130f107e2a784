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
