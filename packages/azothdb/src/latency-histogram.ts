/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  /** Samples recorded. */
  readonly count: number
  /** Median, in milliseconds. */
  readonly p50: number
  /** 90th percentile, in milliseconds. */
  readonly p90: number
  /** 99th percentile, in milliseconds. */
  readonly p99: number
  /** Slowest sample, in milliseconds. */
  readonly max: number
  /** Mean, in milliseconds. */
  readonly mean: number
  /** Sum of every sample, in milliseconds. */
  readonly totalMs: number
  /**
   * Cumulative counts at fixed upper bounds (powers of two microseconds, 64 µs to about 16.8 s):
   * exact, because the bounds are edges of the histogram's own buckets. Samples above the last
   * bound are counted only in `count`.
   */
  readonly buckets: readonly LatencyBucket[]
}

/** Samples at or below a bound: one bucket of a cumulative histogram. */
export interface LatencyBucket {
  /** The upper bound, in milliseconds. */
  readonly leMs: number
  /** Samples up to `leMs`, the ones of smaller bounds included. */
  readonly count: number
}

const SUB_BUCKETS = 16
const MIN_US = 1
const BUCKETS = 40 * SUB_BUCKETS
/** Exponents of two (in microseconds) whose edges `summary().buckets` reports: 64 µs .. 16.8 s. */
const FIRST_REPORTED_EXP = 6
const LAST_REPORTED_EXP = 24

/**
 * A log-linear histogram of durations (about 6% resolution, microseconds to hours) with O(1)
 * record and no allocation: cheap enough for every commit.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS)
  private count = 0
  private sum = 0
  private max = 0

  record(ms: number): void {
    const us = Math.max(MIN_US, ms * 1000)
    const exp = Math.floor(Math.log2(us))
    const frac = us / 2 ** exp - 1
    const index = Math.min(BUCKETS - 1, exp * SUB_BUCKETS + Math.floor(frac * SUB_BUCKETS))
    this.counts[index]!++
    this.count++
    this.sum += ms
    if (ms > this.max) this.max = ms
  }

  private percentile(p: number): number {
    if (this.count === 0) return 0
    const rank = p * this.count
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) {
        const exp = Math.floor(i / SUB_BUCKETS)
        const sub = i % SUB_BUCKETS
        // The bucket's upper edge, so a reported percentile never understates.
        return Math.min(this.max, (2 ** exp * (1 + (sub + 1) / SUB_BUCKETS)) / 1000)
      }
    }
    return this.max
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
      max: this.max,
      mean: this.count === 0 ? 0 : this.sum / this.count,
      totalMs: this.sum,
      buckets: this.cumulative(),
    }
  }

  /** Bucket `exp * SUB_BUCKETS` starts at exactly 2^exp µs: everything before it is below that edge. */
  private cumulative(): LatencyBucket[] {
    const out: LatencyBucket[] = []
    let seen = 0
    let i = 0
    for (let exp = FIRST_REPORTED_EXP; exp <= LAST_REPORTED_EXP; exp++) {
      for (; i < exp * SUB_BUCKETS; i++) seen += this.counts[i]!
      out.push({ leMs: 2 ** exp / 1000, count: seen })
    }
    return out
  }
}
