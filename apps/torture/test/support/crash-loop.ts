import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, isAzothError } from 'azothdb'
import { spawnTypeScript } from '../../../../vitest.shared.js'
import { openAccounts } from '../../src/ledger.js'
import { type Ack, LedgerModel, parseAck } from '../../src/ledger-model.js'
import type { Prng } from '../../src/prng.js'
import type { Tally } from '../../src/summary.js'
import { collectLines, kill } from './child-lines.js'
import { verifyLedger } from './ledger-checks.js'

const WORKER = new URL('../../fixtures/crash-worker.ts', import.meta.url)

/** Everything one kill broke; empty when the database recovered correctly. */
export interface RoundReport {
  readonly round: number
  /** Broken invariants of the database itself. */
  readonly violations: string[]
  /** Killed restores and backups that left something wrong (the database itself may be fine). */
  readonly restoreViolations: string[]
}

/**
 * Runs the ledger worker against `dir` `kills` times, each SIGKILLed at a random moment (while
 * opening and recovering, or under load with backups, restores and compaction in flight), and
 * checks the database against the model after each kill. Returns the rounds that broke something.
 */
export async function crashLoop(options: {
  readonly dir: string
  readonly eventLog: 'lmdb' | 'file'
  readonly kills: number
  readonly random: Prng
  readonly tally: Tally
  readonly log?: (line: string) => void
}): Promise<RoundReport[]> {
  const { dir, eventLog, random, tally } = options
  const model = new LedgerModel()
  const failures: RoundReport[] = []
  {
    await using db = await Azoth.open(dir, { eventLog })
    await openAccounts(db)
    const verdict = await verifyLedger(db, model, [])
    if (verdict.violations.length > 0)
      return [{ round: -1, violations: verdict.violations, restoreViolations: [] }]
  }
  for (let round = 0; round < options.kills; round++) {
    const report = await crashRound(dir, eventLog, round, random, model, tally)
    if (report.violations.length === 0 && report.restoreViolations.length === 0) continue
    failures.push(report)
    options.log?.(`round ${round}: ${[...report.violations, ...report.restoreViolations].join('; ')}`)
    // A broken database makes every later round report the same damage: stop at the first.
    if (report.violations.length > 0) break
  }
  return failures
}

async function crashRound(
  dir: string,
  eventLog: 'lmdb' | 'file',
  round: number,
  random: Prng,
  model: LedgerModel,
  tally: Tally,
): Promise<RoundReport> {
  const durability = random.next() < 0.75 ? 'sync' : 'relaxed'
  // One kill in ten lands while the database opens and recovers from the previous kill.
  const duringOpen = random.next() < 0.1
  const delayMs = duringOpen ? random.int(0, 40) : random.int(0, 400)
  const child = spawnTypeScript(WORKER, [
    dir,
    eventLog,
    durability,
    String(random.seed()),
    String((round + 1) * 1_000_000),
  ])
  const acks: Ack[] = []
  const backups = new Map<string, 'started' | 'done'>()
  const restores = new Map<string, string>()
  const outcome = collectLines(child, (line) => {
    const ack = parseAck(line)
    if (ack !== undefined) {
      acks.push(ack)
      return
    }
    const [word, a, b] = line.split(' ')
    if ((word === 'opening' && duringOpen) || (word === 'ready' && !duringOpen))
      setTimeout(() => kill(child), delayMs)
    else if (word === 'backup-start') backups.set(a!, 'started')
    else if (word === 'backup-done') backups.set(a!, 'done')
    else if (word === 'backup-removed') backups.delete(a!)
    else if (word === 'restore-start') restores.set(b!, a!)
    else if (word === 'restore-done') restores.delete(a!)
  })
  // A worker that never gets as far as `ready` is stuck: kill it and report that.
  const watchdog = setTimeout(() => kill(child), 60_000)
  const ended = await outcome
  clearTimeout(watchdog)
  if (ended.signal !== 'SIGKILL' || ended.lines.some((l) => l.startsWith('fail '))) {
    return {
      round,
      restoreViolations: [],
      violations: [
        `worker ended with ${ended.code ?? ended.signal}: ${ended.lines.filter((l) => l.startsWith('fail')).join(' ')} ${ended.stderr.slice(-2000)}`,
      ],
    }
  }
  tally.kills++
  tally.inputsTried += acks.length
  for (const ack of acks) model.acks.set(ack.tx, ack)

  const violations: string[] = []
  let db: Azoth
  try {
    db = await Azoth.open(dir, { eventLog })
  } catch (e) {
    return { round, restoreViolations: [], violations: [`reopen after kill ${round} failed: ${String(e)}`] }
  }
  try {
    const verdict = await verifyLedger(db, model, acks)
    tally.invariantChecks += verdict.checks
    tally.lost += verdict.lost
    violations.push(...verdict.violations)
  } finally {
    await db.close()
  }
  const restoreViolations: string[] = []
  for (const [target, backup] of restores) {
    try {
      restoreViolations.push(...(await checkKilledRestore(backup, target, tally)))
    } finally {
      rmSync(target, { recursive: true, force: true })
    }
  }
  for (const [path, state] of backups) {
    if (state === 'started') restoreViolations.push(...(await checkKilledBackup(path, tally)))
  }
  return { round, violations, restoreViolations }
}

/**
 * A restore killed midway leaves nothing that opens (or, killed after its last rename, a complete
 * copy of the backup), and running it again succeeds.
 */
async function checkKilledRestore(backup: string, target: string, tally: Tally): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as {
    sealedEventId: number
    stateDigest: string
  }
  let complete = false
  try {
    const db = await Azoth.open(target, { create: false })
    const whole = db.head() === manifest.sealedEventId && db.stateDigest() === manifest.stateDigest
    await db.close()
    if (!whole) return [`a killed restore left ${target} open-able with other data than its backup`]
    complete = true
  } catch (e) {
    if (!isAzothError(e)) return [`opening a killed restore raised a raw error: ${String(e)}`]
  }
  tally.invariantChecks++
  if (!complete) {
    try {
      const db = await Azoth.restoreFrom(backup, target)
      await db.close()
      tally.invariantChecks++
    } catch (e) {
      return [`rerunning a killed restore into ${target} failed: ${String(e)}`]
    }
  }
  return []
}

/** A backup killed midway is refused with a code by restore, or (killed after its manifest) restores whole. */
async function checkKilledBackup(path: string, tally: Tally): Promise<string[]> {
  const target = `${path}.restore-check`
  try {
    const db = await Azoth.restoreFrom(path, target)
    await db.close()
  } catch (e) {
    if (!isAzothError(e)) return [`restoring a killed backup raised a raw error: ${String(e)}`]
  } finally {
    rmSync(target, { recursive: true, force: true })
  }
  tally.invariantChecks++
  return []
}
