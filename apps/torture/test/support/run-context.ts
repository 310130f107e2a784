import { inject } from 'vitest'
import { Prng } from '../../src/prng.js'
import { currentProfile, type Profile } from '../../src/profile.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's seed (printed by the global setup; `AZOTH_TORTURE_SEED` replays it). */
    tortureSeed: number
    /** Where each test file leaves its summary fragment for the teardown to merge. */
    tortureRunDir: string
  }
}

export const profile: Profile = currentProfile()

/** A generator for one test file: derived from the run's seed and the file's own name, so files stay independent. */
export function prngFor(name: string): Prng {
  let h = inject('tortureSeed') >>> 0
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
  return new Prng(h)
}

export function runDir(): string {
  return inject('tortureRunDir')
}
