/** How hard the suite pushes: `short` runs inside `pnpm test`, `long` on demand (`AZOTH_TORTURE=long`). */
export interface Profile {
  readonly name: 'short' | 'long'
  /** SIGKILLs per event-log backend in the crash loop. */
  readonly killsPerBackend: number
  /** Random bit flips per file kind in the corruption cases. */
  readonly flipsPerKind: number
  /** fast-check runs of the whole-database property. */
  readonly propertyRuns: number
  /** Transactions each of the load test's callers commits. */
  readonly loadRoundsPerCaller: number
}

export const SHORT: Profile = {
  name: 'short',
  killsPerBackend: 50,
  flipsPerKind: 2,
  propertyRuns: 15,
  loadRoundsPerCaller: 4,
}

export const LONG: Profile = {
  name: 'long',
  killsPerBackend: 1_000,
  flipsPerKind: 40,
  propertyRuns: 300,
  loadRoundsPerCaller: 40,
}

/** The profile named by `AZOTH_TORTURE` (`long`, else short). */
export function currentProfile(env: NodeJS.ProcessEnv = process.env): Profile {
  const name = env.AZOTH_TORTURE ?? 'short'
  if (name !== 'short' && name !== 'long') throw new Error(`AZOTH_TORTURE must be short or long, not ${name}`)
  return name === 'long' ? LONG : SHORT
}

/** The run's seed: `AZOTH_TORTURE_SEED` when set (to replay a run), else a fresh one. */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.AZOTH_TORTURE_SEED
  if (given === undefined || given === '') return Math.floor(Math.random() * 0x1_0000_0000)
  const seed = Number(given)
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`AZOTH_TORTURE_SEED must be a non-negative integer`)
  return seed
}
