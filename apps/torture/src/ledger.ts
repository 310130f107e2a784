// The torture workload shared by child processes and the checks in the parent: a small ledger of
// accounts, transfers, notes written by batches, and "poison" events its projection refuses (so the
// dead-letter queue fills). No vitest here: children import it.
import {
  type Azoth,
  ErrorStrategy,
  isAzothError,
  type Migration,
  type Projector,
  type SqlEventHandler,
  TypedValue,
} from 'azothdb'

export const ACCOUNTS = 8
export const INITIAL_BALANCE = 1_000
export const LEDGER_PROJECTOR = 'ledger'
/**
 * A projector only the checking parent runs, up to the head it verified: `compactEventLog` keeps
 * every event some projector has not applied, so a child never drops events the parent has not read
 * (backups catch up the projectors open in the child, which the fence is not).
 */
export const FENCE_PROJECTOR = 'fence'

export function accountKey(i: number): string {
  return `acct/${String(i).padStart(2, '0')}`
}

export function noteKey(tx: number, part: number): string {
  return `note/${tx}/${part}`
}

export interface OpenedEvent {
  readonly account: string
  readonly balance: number
}
export interface TransferEvent {
  readonly tx: number
  readonly from: string
  readonly to: string
  readonly amount: number
}
export interface NotedEvent {
  readonly tx: number
  readonly part: number
}
export interface PoisonEvent {
  readonly tx: number
}

export const LEDGER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger',
    up: (tx) => {
      tx.exec('CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)')
      tx.exec('CREATE TABLE notes (tx INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (tx, part))')
    },
  },
]

/** Thrown by the projection for every `poison` event: each must end up dead-lettered exactly once. */
export const POISON_MESSAGE = 'poison event refused by the ledger projection'

const ledgerHandler: SqlEventHandler = {
  name: 'ledger',
  eventTypes: ['opened', 'transfer', 'noted', 'poison'],
  handle(event, tx) {
    switch (event.type) {
      case 'opened': {
        const p = event.payload as OpenedEvent
        tx.run('INSERT INTO balances (account, balance) VALUES (?, ?)', [p.account, p.balance])
        return
      }
      case 'transfer': {
        const p = event.payload as TransferEvent
        tx.run('UPDATE balances SET balance = balance - ? WHERE account = ?', [p.amount, p.from])
        tx.run('UPDATE balances SET balance = balance + ? WHERE account = ?', [p.amount, p.to])
        return
      }
      case 'noted': {
        const p = event.payload as NotedEvent
        tx.run('INSERT INTO notes (tx, part) VALUES (?, ?)', [p.tx, p.part])
        return
      }
      default:
        throw new Error(POISON_MESSAGE)
    }
  },
}

const fenceHandler: SqlEventHandler = { name: 'fence', eventTypes: '*', handle: () => undefined }

/** Migrates the projection and creates the ledger projector (dead-letter strategy). */
export async function ledgerProjector(db: Azoth): Promise<Projector> {
  await db.migrate(LEDGER_MIGRATIONS)
  const ledger = db.projector({
    name: LEDGER_PROJECTOR,
    handlers: [ledgerHandler],
    errorStrategy: ErrorStrategy.deadLetter(),
    // The poison never heals: replays only add attempts, which the checks ignore.
    deadLetterQueue: { initialDelayMs: 50, scanIntervalMs: 50, maxAttempts: 3 },
  })
  return ledger
}

/** The fence projector (see {@link FENCE_PROJECTOR}). */
export function fenceProjector(db: Azoth): Projector {
  return db.projector({ name: FENCE_PROJECTOR, handlers: [fenceHandler] })
}

/** Opens the accounts with one event each, atomically; once per database. */
export async function openAccounts(db: Azoth): Promise<void> {
  const batch = db.writeBatch()
  for (let i = 0; i < ACCOUNTS; i++) {
    batch.put(accountKey(i), TypedValue.i64(BigInt(INITIAL_BALANCE)))
    batch.appendEvent('opened', { account: accountKey(i), balance: INITIAL_BALANCE } satisfies OpenedEvent)
  }
  await batch.commit()
}

/** A preflighted transfer: the event id when committed, undefined when `requireMin` refused it. */
export async function transfer(db: Azoth, t: TransferEvent): Promise<number | undefined> {
  try {
    const info = await db
      .transaction()
      .requireMin(t.from, BigInt(t.amount))
      .keys([t.to])
      .execute((tx) => {
        tx.update(t.from, (v) => TypedValue.i64(v!.asI64() - BigInt(t.amount)))
        tx.update(t.to, (v) => TypedValue.i64(v!.asI64() + BigInt(t.amount)))
        tx.log('transfer', t)
      })
    return info.firstEventId
  } catch (e) {
    if (isAzothError(e, 'PREFLIGHT_FAILED')) return undefined
    throw e
  }
}

/** A batch of two notes and their two events; returns the first event id. */
export async function note(db: Azoth, tx: number): Promise<number> {
  const result = await db
    .writeBatch()
    .put(noteKey(tx, 1), `n${tx}`)
    .appendEvent('noted', { tx, part: 1 } satisfies NotedEvent)
    .put(noteKey(tx, 2), `n${tx}`)
    .appendEvent('noted', { tx, part: 2 } satisfies NotedEvent)
    .commit()
  return result.firstEventId!
}

/** An event the ledger projection refuses; returns its id. */
export async function poison(db: Azoth, tx: number): Promise<number> {
  const info = await db.transaction().execute((ctx) => ctx.log('poison', { tx } satisfies PoisonEvent))
  return info.firstEventId!
}
