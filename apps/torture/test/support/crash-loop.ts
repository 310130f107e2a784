import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth } from 'azothdb'
import { spawnTypeScript } from '../../../../vitest.shared.js'
import { openAccounts } from '../../src/ledger.js'
import { type Ack, LedgerModel, parseAck } from '../../src/ledger-model.js'
import type { Prng } from '../../src/prng.js'
import type { Tally } from '../../src/summary.js'
import { collectLines, kill } from './child-lines.js'
import { inspect } from './inspect-child.js'
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
      restoreViolations.push(...(await checkKilledRestore(backup, target, eventLog, tally)))
    } finally {
      rmSync(target, { recursive: true, force: true })
    }
  }
  for (const [path, state] of backups) {
    if (state === 'started') restoreViolations.push(...(await checkKilledBackup(path, eventLog, tally)))
  }
  return { round, violations, restoreViolations }
}

/**
 * A restore killed midway leaves nothing that opens (or, killed after its last rename, a complete
 * copy of the backup), and running it again succeeds. What it left is opened in a child process:
 * a torn data.mdb may crash the process that maps it.
 */
async function checkKilledRestore(
  backup: string,
  target: string,
  eventLog: 'lmdb' | 'file',
  tally: Tally,
): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as {
    sealedEventId: number
  }
  const left = await inspect(target, eventLog)
  if (left.crashed) return [`opening what a killed restore left crashed: ${left.crashed}`]
  const problems: string[] = []
  for (const a of [left.readOnly, left.writable]) {
    if (a?.ok && a.view.head !== manifest.sealedEventId)
      problems.push(
        `a killed restore left ${target} open-able at head ${a.view.head}, its backup is at ${manifest.sealedEventId}`,
      )
    else if (a !== undefined && !a.ok && a.code === 'RAW')
      problems.push(`opening a killed restore: raw error ${a.message}`)
  }
  tally.invariantChecks++
  if (left.writable?.ok !== true) {
    const rerun = await inspect(target, eventLog, backup)
    if (rerun.restore?.ok !== true)
      problems.push(
        `rerunning a killed restore into ${target} failed: ${JSON.stringify(rerun.crashed ?? rerun.restore)}`,
      )
    else tally.invariantChecks++
  }
  return problems
}

/** A backup killed midway is refused with a code by restore, or (killed after its manifest) restores whole. */
async function checkKilledBackup(path: string, eventLog: 'lmdb' | 'file', tally: Tally): Promise<string[]> {
  const target = `${path}.restore-check`
  try {
    const seen = await inspect(target, eventLog, path)
    if (seen.crashed) return [`restoring a killed backup crashed: ${seen.crashed}`]
    if (seen.restore !== undefined && !seen.restore.ok && seen.restore.code === 'RAW')
      return [`restoring a killed backup raised a raw error: ${seen.restore.message}`]
  } finally {
    rmSync(target, { recursive: true, force: true })
  }
  tally.invariantChecks++
  return []
}
