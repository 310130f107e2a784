// The bank workload shared by tests and child fixtures: accounts, transfers, a balances
// projection, and the invariants. No vitest here: child processes import it too.
import { type Azoth, isAzothError, type Projector, type SqlEventHandler, TypedValue } from 'azothdb'

export const INITIAL_BALANCE = 1000n
export const ACCOUNT_PREFIX = 'acct/'

export function accountKey(i: number): string {
  return `${ACCOUNT_PREFIX}${String(i).padStart(4, '0')}`
}

/** Payload of a `transfer` event. */
export interface TransferEvent {
  readonly id: number
  readonly from: string
  readonly to: string
  readonly amount: number
}

/** Payload of an `opened` event. */
export interface OpenedEvent {
  readonly account: string
  readonly balance: number
}

/** Opens `count` accounts with INITIAL_BALANCE each, atomically, with one `opened` event each. */
export async function openAccounts(db: Azoth, count: number): Promise<void> {
  const batch = db.writeBatch()
  for (let i = 0; i < count; i++) {
    batch.put(accountKey(i), TypedValue.i64(INITIAL_BALANCE))
    batch.appendEvent('opened', { account: accountKey(i), balance: Number(INITIAL_BALANCE) })
  }
  await batch.commit()
}

/** A small seeded PRNG (mulberry32), so workloads can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * One transfer with `requireMin`: resolves with the event id when accepted, undefined when the
 * preflight refused it (insufficient funds). Any other error propagates.
 */
export async function transfer(
  db: Azoth,
  id: number,
  from: string,
  to: string,
  amount: number,
): Promise<number | undefined> {
  try {
    const info = await db
      .transaction()
      .requireMin(from, BigInt(amount))
      .keys([to])
      .execute((tx) => {
        tx.update(from, (v) => TypedValue.i64(v!.asI64() - BigInt(amount)))
        tx.update(to, (v) => TypedValue.i64(v!.asI64() + BigInt(amount)))
        tx.log('transfer', { id, from, to, amount } satisfies TransferEvent)
      })
    return info.firstEventId
  } catch (e) {
    if (isAzothError(e, 'PREFLIGHT_FAILED')) return undefined
    throw e
  }
}

/** A random transfer between two distinct accounts, amount 1..maxAmount. */
export function randomTransfer(
  random: () => number,
  accounts: number,
  maxAmount: number,
): { from: string; to: string; amount: number } {
  const a = Math.floor(random() * accounts)
  let b = Math.floor(random() * (accounts - 1))
  if (b >= a) b++
  return { from: accountKey(a), to: accountKey(b), amount: 1 + Math.floor(random() * maxAmount) }
}

export const BALANCES_MIGRATIONS = [
  {
    version: 1,
    name: 'balances',
    up: (tx: { exec(sql: string): void }) =>
      tx.exec('CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)'),
  },
]

/** Upserts balances from `opened` and `transfer` events. */
export const balancesHandler: SqlEventHandler = {
  name: 'balances',
  eventTypes: ['opened', 'transfer'],
  handle(event, tx) {
    if (event.type === 'opened') {
      const p = event.payload as OpenedEvent
      tx.run(
        'INSERT INTO balances (account, balance) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance = excluded.balance',
        [p.account, p.balance],
      )
      return
    }
    const p = event.payload as TransferEvent
    tx.run(
      'INSERT INTO balances (account, balance) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance',
      [p.from, -p.amount],
    )
    tx.run(
      'INSERT INTO balances (account, balance) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance',
      [p.to, p.amount],
    )
  },
}

/** Migrates the projection and creates the `balances` projector. */
export async function balancesProjector(db: Azoth): Promise<Projector> {
  await db.migrate(BALANCES_MIGRATIONS)
  return db.projector({ name: 'balances', handlers: [balancesHandler] })
}

/** Everything the bank invariants compare. */
export interface BankSnapshot {
  /** Balances in state. */
  readonly state: Map<string, bigint>
  /** Balances replayed from the events. */
  readonly replayed: Map<string, bigint>
  /** Balances in the projection. */
  readonly projected: Map<string, bigint>
  /** Transfer ids in event order, each as often as it appears. */
  readonly transferIds: number[]
  /** Event id of each transfer id (last seen). */
  readonly eventOfTransfer: Map<number, number>
  /** Event ids in order, to check they are gapless. */
  readonly eventIds: number[]
  readonly head: number
  readonly total: bigint
  readonly negative: string[]
}

/** Reads state, events and the `balances` projection of a bank database. */
export async function snapshotBank(db: Azoth): Promise<BankSnapshot> {
  const state = new Map<string, bigint>()
  for (const { key, value } of db.scan(ACCOUNT_PREFIX)) state.set(key as string, value.asI64())
  const replayed = new Map<string, bigint>()
  const transferIds: number[] = []
  const eventOfTransfer = new Map<number, number>()
  const eventIds: number[] = []
  for (const event of db.events()) {
    eventIds.push(event.id)
    if (event.type === 'opened') {
      const p = event.payload as OpenedEvent
      replayed.set(p.account, BigInt(p.balance))
    } else if (event.type === 'transfer') {
      const p = event.payload as TransferEvent
      replayed.set(p.from, (replayed.get(p.from) ?? 0n) - BigInt(p.amount))
      replayed.set(p.to, (replayed.get(p.to) ?? 0n) + BigInt(p.amount))
      transferIds.push(p.id)
      eventOfTransfer.set(p.id, event.id)
    }
  }
  const projected = new Map<string, bigint>()
  const rows = await db.query<{ account: string; balance: number | bigint }>(
    'SELECT account, balance FROM balances ORDER BY account',
  )
  for (const row of rows) projected.set(row.account, BigInt(row.balance))
  let total = 0n
  const negative: string[] = []
  for (const [k, v] of state) {
    total += v
    if (v < 0n) negative.push(k)
  }
  return {
    state,
    replayed,
    projected,
    transferIds,
    eventOfTransfer,
    eventIds,
    head: db.head(),
    total,
    negative,
  }
}

/** Runs `callers` concurrent loops of random transfers until `stop()` says so; returns accepted ids. */
export async function runTransfers(
  db: Azoth,
  options: {
    readonly callers: number
    readonly accounts: number
    readonly maxAmount: number
    readonly seed: number
    readonly idBase: number
    readonly stop: (done: number) => boolean
    readonly onAccepted?: (transferId: number, eventId: number) => void
  },
): Promise<{ accepted: Map<number, number>; refused: number }> {
  const random = prng(options.seed)
  const accepted = new Map<number, number>()
  let refused = 0
  let next = 0
  const caller = async () => {
    while (!options.stop(next)) {
      const id = options.idBase + next++
      const t = randomTransfer(random, options.accounts, options.maxAmount)
      const eventId = await transfer(db, id, t.from, t.to, t.amount)
      if (eventId === undefined) refused++
      else {
        accepted.set(id, eventId)
        options.onAccepted?.(id, eventId)
      }
    }
  }
  await Promise.all(Array.from({ length: options.callers }, caller))
  return { accepted, refused }
}
