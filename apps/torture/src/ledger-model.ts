import type { AzothEvent } from 'azothdb'
import {
  ACCOUNTS,
  accountKey,
  INITIAL_BALANCE,
  type NotedEvent,
  noteKey,
  type OpenedEvent,
  type PoisonEvent,
  type TransferEvent,
} from './ledger.js'

/** A write a child acknowledged: its commit resolved, so it must survive any crash. */
export type Ack =
  | {
      readonly kind: 'transfer'
      readonly tx: number
      readonly eventId: number
      readonly from: string
      readonly to: string
      readonly amount: number
    }
  | { readonly kind: 'note'; readonly tx: number; readonly eventId: number }
  | { readonly kind: 'poison'; readonly tx: number; readonly eventId: number }

/** `ack <tx> <eventId> <kind> [from to amount]`: one line per acknowledged write on a child's stdout. */
export function formatAck(ack: Ack): string {
  const tail = ack.kind === 'transfer' ? ` ${ack.from} ${ack.to} ${ack.amount}` : ''
  return `ack ${ack.tx} ${ack.eventId} ${ack.kind}${tail}\n`
}

export function parseAck(line: string): Ack | undefined {
  const [word, tx, eventId, kind, from, to, amount] = line.split(' ')
  if (word !== 'ack') return undefined
  const base = { tx: Number(tx), eventId: Number(eventId) }
  if (kind === 'transfer') return { kind, ...base, from: from!, to: to!, amount: Number(amount) }
  if (kind === 'note' || kind === 'poison') return { kind, ...base }
  throw new Error(`malformed ack line: ${line}`)
}

/**
 * The parent's model of a ledger database: the state and projection that replaying every event
 * gives, every event's meaning, and the acknowledged writes. It is fed the new events after each
 * reopen and compared with what the database says.
 */
export class LedgerModel {
  /** Balances a replay gives. */
  readonly balances = new Map<string, number>()
  /** Note keys a replay gives. */
  readonly notes = new Set<string>()
  /** Ids of poison events: each must be dead-lettered once by the ledger projector. */
  readonly poisonIds = new Set<number>()
  /** Every acknowledged write by transaction id. */
  readonly acks = new Map<number, Ack>()
  /** The head up to which events were read and folded in. */
  head = 0

  /** Folds the next event in; its id must be `head + 1` (gapless) and its content must make sense. */
  apply(event: AzothEvent): void {
    if (event.id !== this.head + 1)
      throw new Error(`event ${event.id} follows ${this.head}: ids are not gapless`)
    this.head = event.id
    switch (event.type) {
      case 'opened': {
        const p = event.payload as OpenedEvent
        if (this.balances.has(p.account))
          throw new Error(`account ${p.account} opened twice (event ${event.id})`)
        this.balances.set(p.account, p.balance)
        return
      }
      case 'transfer': {
        const p = event.payload as TransferEvent
        const from = this.balances.get(p.from)
        const to = this.balances.get(p.to)
        if (from === undefined || to === undefined)
          throw new Error(`transfer ${p.tx} between unknown accounts`)
        if (from < p.amount)
          throw new Error(`transfer ${p.tx} overdraws ${p.from}: its preflight was not honoured`)
        this.balances.set(p.from, from - p.amount)
        this.balances.set(p.to, to + p.amount)
        return
      }
      case 'noted': {
        const p = event.payload as NotedEvent
        this.notes.add(noteKey(p.tx, p.part))
        return
      }
      case 'poison':
        this.poisonIds.add(event.id)
        return
      default:
        throw new Error(`unknown event type ${event.type} at ${event.id}`)
    }
  }

  /** Does `event` carry what `ack` says was committed at its id? */
  static matches(ack: Ack, event: AzothEvent | undefined): boolean {
    if (event === undefined || event.id !== ack.eventId) return false
    const p = event.payload as { tx?: number }
    if (ack.kind === 'transfer') {
      const t = event.payload as TransferEvent
      return (
        event.type === 'transfer' &&
        t.tx === ack.tx &&
        t.from === ack.from &&
        t.to === ack.to &&
        t.amount === ack.amount
      )
    }
    if (ack.kind === 'note')
      return event.type === 'noted' && p.tx === ack.tx && (event.payload as NotedEvent).part === 1
    return event.type === 'poison' && (event.payload as PoisonEvent).tx === ack.tx
  }

  /** The total money: transfers move it, nothing creates or destroys it. */
  static get totalMoney(): number {
    return ACCOUNTS * INITIAL_BALANCE
  }

  static get accountKeys(): string[] {
    return Array.from({ length: ACCOUNTS }, (_, i) => accountKey(i))
  }
}
