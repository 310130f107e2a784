// Everything a user can read from a ledger database, as plain JSON: two views are equal exactly
// when the database answers every read the same way. Shared by the inspecting child and the tests.
import { createHash } from 'node:crypto'
import { type Azoth, isAzothError } from 'azothdb'
import { LEDGER_PROJECTOR } from './ledger.js'

export interface DatabaseView {
  readonly head: number
  readonly state: [string, string][]
  readonly events: [number, string, string][]
  readonly balances: [string, number][]
  readonly notes: string[]
  readonly deadLetters: number[]
}

/** What an attempt gave: a view, or an error's code (`RAW` for anything not an AzothError). */
export type Attempt =
  | { readonly ok: true; readonly view: DatabaseView }
  | { readonly ok: false; readonly code: string; readonly message: string }

export function failedAttempt(e: unknown): Attempt {
  return {
    ok: false,
    code: isAzothError(e) ? e.code : 'RAW',
    message: e instanceof Error ? e.message : String(e),
  }
}

/** Long values (padding) by digest: views stay small enough to compare and ship between processes. */
function digestOf(text: string): string {
  return text.length <= 64 ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`
}

/** Reads the whole database: state, events, the ledger projection and its dead letters. */
export async function viewOf(db: Azoth): Promise<DatabaseView> {
  const state: [string, string][] = []
  for (const { key, value } of db.scan('')) state.push([String(key), digestOf(value.toString())])
  const events: [number, string, string][] = []
  for (const e of db.events()) events.push([e.id, e.type, JSON.stringify(e.payload)])
  const balances = (
    await db.query<{ account: string; balance: number }>(
      'SELECT account, balance FROM balances ORDER BY account',
    )
  ).map((r) => [r.account, Number(r.balance)] as [string, number])
  const notes = (
    await db.query<{ tx: number; part: number }>('SELECT tx, part FROM notes ORDER BY tx, part')
  ).map((r) => `${r.tx}/${r.part}`)
  const deadLetters = (await db.deadLetters.list({ projector: LEDGER_PROJECTOR, limit: 1_000_000 }))
    .map((d) => d.eventId)
    .sort((a, b) => a - b)
  return { head: db.head(), state, events, balances, notes, deadLetters }
}
