import type { Azoth, AzothEvent } from 'azothdb'
import { fenceProjector, LEDGER_PROJECTOR, ledgerProjector } from '../../src/ledger.js'
import { type Ack, LedgerModel } from '../../src/ledger-model.js'

/** What one verification found: broken invariants (must stay empty) and how many checks passed. */
export interface LedgerVerdict {
  readonly violations: string[]
  /** Acknowledged writes missing or changed: counted as `lost` in the summary. */
  readonly lost: number
  readonly checks: number
}

/**
 * Checks a reopened ledger database against the model, after folding its new events into the model:
 * gapless ids, every acknowledged write present at its id, state equal to a replay (so no partial
 * transaction), money conserved, the projection (caught up by this call) equal to the replay, and
 * every poison event dead-lettered exactly once.
 */
export async function verifyLedger(
  db: Azoth,
  model: LedgerModel,
  newAcks: readonly Ack[],
): Promise<LedgerVerdict> {
  const violations: string[] = []
  let lost = 0
  let checks = 0
  const check = (ok: boolean, what: () => string) => {
    if (ok) checks++
    else violations.push(what())
  }

  // New events: gapless from the verified head on, each one meaningful.
  const fresh = new Map<number, AzothEvent>()
  try {
    for (const event of db.events({ from: model.head + 1 })) {
      model.apply(event)
      fresh.set(event.id, event)
    }
    checks++
  } catch (e) {
    violations.push(`event log: ${e instanceof Error ? e.message : String(e)}`)
  }
  check(db.head() === model.head, () => `head ${db.head()} but events end at ${model.head}`)

  for (const ack of newAcks) {
    const ok = LedgerModel.matches(ack, fresh.get(ack.eventId))
    if (!ok) lost++
    check(ok, () => `acknowledged ${ack.kind} ${ack.tx} at event ${ack.eventId} is missing or changed`)
  }

  // State equals the replay of every event: a transaction half applied would show here.
  const balances = new Map<string, number>()
  let total = 0
  for (const { key, value } of db.scan('acct/')) {
    const v = Number(value.asI64())
    balances.set(String(key), v)
    total += v
    check(v >= 0, () => `${String(key)} is negative: ${v}`)
  }
  check(
    sameEntries(balances, model.balances),
    () => `balances ${show(balances)} but replay gives ${show(model.balances)}`,
  )
  check(total === LedgerModel.totalMoney, () => `money not conserved: ${total}`)
  const notes = new Set<string>()
  for (const { key } of db.scan('note/')) notes.add(String(key))
  check(
    sameSet(notes, model.notes),
    () => `${notes.size} note keys in state, replay gives ${model.notes.size}`,
  )

  // The projection may lag the log after a crash, never lead it; caught up it equals the replay.
  const stats = await (await ledgerProjector(db)).runOnce()
  check(stats.from <= model.head, () => `projection cursor ${stats.from} is ahead of the head ${model.head}`)
  check(stats.cursor === model.head, () => `projector stopped at ${stats.cursor}, head is ${model.head}`)
  const rows = await db.query<{ account: string; balance: number }>('SELECT account, balance FROM balances')
  const projected = new Map(rows.map((r) => [r.account, Number(r.balance)] as const))
  check(
    sameEntries(projected, model.balances),
    () => `projected ${show(projected)} but replay gives ${show(model.balances)}`,
  )
  const noteRows = await db.query<{ tx: number; part: number }>('SELECT tx, part FROM notes')
  const projectedNotes = new Set(noteRows.map((r) => `note/${r.tx}/${r.part}`))
  check(
    sameSet(projectedNotes, model.notes),
    () => `${projectedNotes.size} projected notes, replay gives ${model.notes.size}`,
  )

  // Dead letters intact: each poison event parked once, nothing else parked.
  const parked = await db.deadLetters.list({ projector: LEDGER_PROJECTOR, limit: 1_000_000 })
  const parkedIds = parked.map((d) => d.eventId).sort((a, b) => a - b)
  const poisonIds = [...model.poisonIds].sort((a, b) => a - b)
  check(
    parkedIds.length === poisonIds.length && parkedIds.every((id, i) => id === poisonIds[i]),
    () => `dead letters ${parkedIds.join(',')} but poison events ${poisonIds.join(',')}`,
  )
  check(
    parked.every((d) => d.eventType === 'poison'),
    () => `a dead letter of another type: ${parked.map((d) => d.eventType).join(',')}`,
  )
  // Verified: the next child may compact up to here.
  await fenceProjector(db).runOnce()
  return { violations, lost, checks }
}

function sameEntries(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false
  for (const k of a) if (!b.has(k)) return false
  return true
}

function show(m: ReadonlyMap<string, number>): string {
  return JSON.stringify([...m].sort())
}
