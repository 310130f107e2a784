import { join } from 'node:path'
import type { Case, Section } from '../harness.js'
import { withMemorySplit } from '../scale/memory-split.js'
import { catchupCase, commitCase, getCase, iterateCase, type ScaleSize } from '../scale/scale-cases.js'
import { ScaleFixture } from '../scale/scale-fixture.js'
import { diskBytesCase, openCleanCase, openSigkillCase } from '../scale/scale-open-disk-cases.js'
import { SizeTrend } from '../scale/size-trend.js'

/** The sizes measured: N keys and N events each. */
export const FULL_SIZES = [10_000, 100_000, 1_000_000, 10_000_000] as const
export const QUICK_SIZES = [10_000, 100_000] as const

/**
 * Every scale case for each size in `sizes` (ascending), sizes one after another. The data of a
 * size is built once, untimed, by the first case that needs it, reused by the others, and removed
 * by the size's last case. Exported so a test can run the cases at a tiny size.
 */
export function scaleCases(tmpDir: string, sizes: readonly number[], quick: boolean): Case[] {
  const trend = new SizeTrend()
  return sizes.flatMap((n, i): Case[] => {
    const s: ScaleSize = {
      fixture: new ScaleFixture(join(tmpDir, `n${n}`), n),
      n,
      previous: sizes[i - 1],
      quick,
      trend,
    }
    // Disk first (nothing added on top yet); the commits and the killed writers add events, so last.
    const cases = [
      diskBytesCase(s, 'lmdb'),
      diskBytesCase(s, 'file'),
      openCleanCase(s),
      getCase(s),
      iterateCase(s),
      catchupCase(s),
      commitCase(s),
      openSigkillCase(s, 'lmdb', false),
      openSigkillCase(s, 'file', false),
      openSigkillCase(s, 'file', true, 'unindexed'),
    ]
    return cases.map(withMemorySplit)
  })
}

const section: Section = {
  name: 'scale',
  description:
    'Commit, random get, iteration, projector catch-up, open (clean and after SIGKILL), disk and RSS at 10^4…10^7 keys and events',
  cases: ({ quick, tmpDir }) => scaleCases(tmpDir, quick ? QUICK_SIZES : FULL_SIZES, quick),
}

export default section
