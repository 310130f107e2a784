// Damaged files of every kind Azoth writes: truncated, emptied, deleted, bit-flipped. Each open
// (read-only, then writable) and each restore must give a code or exactly the right data: never a
// crash, a raw error, a hang or a wrong answer; and an open that fails must change no file.
import { cpSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseView } from '../src/database-view.js'
import { Prng } from '../src/prng.js'
import { Summary, type Tally } from '../src/summary.js'
import { flipBit, logFiles, remove, truncateTo } from './support/damage.js'
import { type CheckedAttempt, type Inspection, type InspectJob, inspectAll } from './support/inspect-child.js'
import { buildReferenceLedger } from './support/reference-ledger.js'
import { prngFor, profile, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'file-damage'))

/**
 * `CORRUPTION`: the issue fixes the answer. `answer`: any AzothError code, or exactly the right data.
 * For a backup, the restore is judged (then the target must hold the backup or nothing that opens).
 */
type Expectation = 'CORRUPTION' | 'answer'

interface DamageCase {
  readonly name: string
  readonly only?: 'file'
  readonly backup?: boolean
  readonly expect: Expectation
  /** Damages the copy in `dir` (the database, or the backup for backup cases). */
  readonly damage: (dir: string, random: Prng) => void
}

const FLIPS = Array.from({ length: profile.flipsPerKind }, (_, i) => i + 1)

const flips = (
  name: string,
  file: (dir: string, random: Prng) => string,
  extra: Partial<DamageCase> = {},
): DamageCase[] =>
  FLIPS.map((n) => ({
    name: `${name}: bit flip #${n}`,
    expect: 'answer' as const,
    ...extra,
    damage: (dir: string, random: Prng) => {
      flipBit(file(dir, random), random)
    },
  }))

const dataMdb = (dir: string) => join(dir, 'canonical', 'data.mdb')
const someSegment = (dir: string, random: Prng) => random.pick(logFiles(dir, '.seg'))
const someSidecar = (dir: string, random: Prng) => random.pick(logFiles(dir, '.idx'))

const CASES: DamageCase[] = [
  // The store keeps zeros allocated past LMDB's last page (its full-disk reserve), so half of the
  // file may still hold every page in use: then the right data is the right answer.
  { name: 'data.mdb truncated to half', expect: 'answer', damage: (d) => truncateTo(dataMdb(d), 0.5) },
  // Three pages: both meta pages and one more, far below what the workload's pages need.
  {
    name: 'data.mdb truncated to 3 pages',
    expect: 'CORRUPTION',
    damage: (d) => truncateSync(dataMdb(d), 3 * 4096),
  },
  { name: 'data.mdb emptied (0 bytes)', expect: 'CORRUPTION', damage: (d) => truncateTo(dataMdb(d), 0) },
  { name: 'data.mdb deleted', expect: 'CORRUPTION', damage: (d) => remove(dataMdb(d)) },
  { name: 'canonical/ deleted', expect: 'CORRUPTION', damage: (d) => remove(join(d, 'canonical')) },
  ...flips('data.mdb', dataMdb),
  {
    name: 'oldest segment deleted',
    only: 'file',
    expect: 'CORRUPTION',
    damage: (d) => remove(logFiles(d, '.seg')[0]!),
  },
  {
    name: 'a middle segment deleted',
    only: 'file',
    expect: 'answer',
    damage: (d) => {
      const segs = logFiles(d, '.seg')
      remove(segs[Math.floor(segs.length / 2)]!)
    },
  },
  {
    name: 'newest segment truncated to half',
    only: 'file',
    expect: 'answer',
    damage: (d) => truncateTo(logFiles(d, '.seg').at(-1)!, 0.5),
  },
  {
    name: 'a segment emptied',
    only: 'file',
    expect: 'answer',
    damage: (d, r) => truncateTo(someSegment(d, r), 0),
  },
  ...flips('segment', someSegment, { only: 'file' }),
  {
    name: 'a sidecar truncated',
    only: 'file',
    expect: 'answer',
    damage: (d, r) => truncateTo(someSidecar(d, r), 0.5),
  },
  { name: 'a sidecar deleted', only: 'file', expect: 'answer', damage: (d, r) => remove(someSidecar(d, r)) },
  ...flips('sidecar', someSidecar, { only: 'file' }),
  { name: 'azoth.json truncated', expect: 'answer', damage: (d) => truncateTo(join(d, 'azoth.json'), 0.5) },
  { name: 'azoth.json emptied', expect: 'answer', damage: (d) => truncateTo(join(d, 'azoth.json'), 0) },
  { name: 'azoth.json deleted', expect: 'answer', damage: (d) => remove(join(d, 'azoth.json')) },
  ...flips('azoth.json', (d) => join(d, 'azoth.json')),
  {
    name: 'projection.db truncated',
    expect: 'answer',
    damage: (d) => truncateTo(join(d, 'projection.db'), 0.5),
  },
  { name: 'projection.db deleted', expect: 'answer', damage: (d) => remove(join(d, 'projection.db')) },
  ...flips('projection.db', (d) => join(d, 'projection.db')),
  // The seal holds projection.db's checksums from its last clean close: damaged, it cannot vouch for it.
  {
    name: 'projection.db-seal deleted',
    expect: 'answer',
    damage: (d) => remove(join(d, 'projection.db-seal')),
  },
  ...flips('projection.db-seal', (d) => join(d, 'projection.db-seal'), { expect: 'CORRUPTION' }),
  {
    name: 'backup manifest truncated',
    backup: true,
    expect: 'CORRUPTION',
    damage: (d) => truncateTo(join(d, 'manifest.json'), 0.5),
  },
  {
    name: 'backup manifest deleted',
    backup: true,
    expect: 'answer',
    damage: (d) => remove(join(d, 'manifest.json')),
  },
  ...flips('backup manifest', (d) => join(d, 'manifest.json'), { backup: true }),
  {
    name: 'backup data.mdb truncated',
    backup: true,
    expect: 'CORRUPTION',
    damage: (d) => truncateTo(dataMdb(d), 0.5),
  },
  ...flips('backup data.mdb', dataMdb, { backup: true, expect: 'CORRUPTION' }),
  ...flips('backup segment', someSegment, { backup: true, only: 'file', expect: 'CORRUPTION' }),
  ...flips('backup projection.db', (d) => join(d, 'projection.db'), { backup: true, expect: 'CORRUPTION' }),
]

/** Problems with one attempt: a raw error, the wrong code, a changed file, or a wrong answer. */
function judge(
  what: string,
  attempt: CheckedAttempt | undefined,
  expectation: Expectation,
  expected: DatabaseView,
  tally: Tally,
): string[] {
  if (attempt === undefined) return [`${what}: not attempted`]
  if (attempt.ok) {
    if (JSON.stringify(attempt.view) !== JSON.stringify(expected)) {
      tally.lost++
      return [
        `${what}: WRONG ANSWER (head ${attempt.view.head}, ${attempt.view.events.length} events, state ${attempt.view.state.length} keys)`,
      ]
    }
    if (expectation === 'CORRUPTION')
      return [`${what}: opened (with the right data) where CORRUPTION was due`]
    tally.invariantChecks++
    return []
  }
  const problems: string[] = []
  if (attempt.code === 'RAW') problems.push(`${what}: raw error ${attempt.message}`)
  else if (expectation === 'CORRUPTION' && attempt.code !== 'CORRUPTION')
    problems.push(`${what}: ${attempt.code} (${attempt.message}), CORRUPTION due`)
  if (attempt.changed.length > 0)
    problems.push(`${what}: failed with ${attempt.code} but changed ${attempt.changed.join(', ')}`)
  if (problems.length === 0) tally.invariantChecks++
  return problems
}

describe.each(['lmdb', 'file'] as const)('damaged files (eventLog %s)', (eventLog) => {
  const random = prngFor(`file-damage-${eventLog}`)
  const tally = summary.tally('damaged files', eventLog)
  const cases = CASES.filter((c) => c.only === undefined || c.only === eventLog)
  let expected: DatabaseView
  /** What the inspecting children saw for each case, in case order. */
  let seen: Inspection[] = []

  // Every case is damaged and inspected up front, in as few children as possible; each test judges one.
  beforeAll(async () => {
    const root = tempDir()
    await buildReferenceLedger(join(root, 'pristine'), join(root, 'pristine-backup'), eventLog, random)
    const jobs: InspectJob[] = [{ dir: join(root, 'reference'), eventLog }]
    cpSync(join(root, 'pristine'), join(root, 'reference'), { recursive: true })
    for (const [i, c] of cases.entries()) {
      const dir = join(root, `case-${i}`)
      const backup = join(root, `case-${i}-backup`)
      cpSync(join(root, 'pristine'), dir, { recursive: true })
      cpSync(join(root, 'pristine-backup'), backup, { recursive: true })
      c.damage(c.backup ? backup : dir, new Prng(random.seed()))
      tally.faultsInjected++
      jobs.push(
        c.backup ? { dir: join(root, `case-${i}-restored`), eventLog, backupDir: backup } : { dir, eventLog },
      )
    }
    const [reference, ...rest] = await inspectAll(jobs)
    if (!reference?.writable?.ok || !reference.readOnly?.ok)
      throw new Error(`the undamaged database does not open: ${JSON.stringify(reference)}`)
    expect(reference.readOnly.view).toEqual(reference.writable.view)
    expected = reference.writable.view
    seen = rest
  }, 3_600_000)

  it.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
    const result = seen[c.i]!
    tally.inputsTried++
    const problems: string[] = []
    if (result.crashed) problems.push(`crashed: ${result.crashed}`)
    else if (c.backup) {
      problems.push(...judge('restore', result.restore, c.expect, expected, tally))
      // Refused: nothing that opens is left behind. Restored: it holds the backup.
      const restored = result.restore?.ok === true
      for (const [what, a] of [
        ['read-only open after', result.readOnly],
        ['open after', result.writable],
      ] as const) {
        if (restored) problems.push(...judge(what, a, 'answer', expected, tally))
        else if (a?.ok) problems.push(`${what} a refused restore: the target opens`)
        else if (a?.code === 'RAW') problems.push(`${what} a refused restore: raw error ${a.message}`)
      }
    } else {
      problems.push(...judge('read-only open', result.readOnly, c.expect, expected, tally))
      problems.push(...judge('open', result.writable, c.expect, expected, tally))
    }
    expect(problems).toEqual([])
  })
})
