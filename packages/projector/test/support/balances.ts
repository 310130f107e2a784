import type { AzothEvent, EventHandler } from '@azothdb/core'
import type { SqliteTx } from '@azothdb/projection-sqlite'

/** The payload of the test events. */
export interface Deposit {
  readonly account: string
  readonly amount: number
}

/**
 * A balances projection: `Deposited` adds to an account. Fails on event ids in `failing` (mutable,
 * so a test can "fix" the handler), counting every call, also per event id.
 */
export function balancesHandler(
  failing: Set<number> = new Set(),
): EventHandler<SqliteTx> & { calls: number; callsFor: Map<number, number> } {
  const handler = {
    name: 'balances',
    eventTypes: ['Deposited'] as const,
    calls: 0,
    callsFor: new Map<number, number>(),
    handle(event: AzothEvent, tx: SqliteTx): void {
      handler.calls++
      handler.callsFor.set(event.id, (handler.callsFor.get(event.id) ?? 0) + 1)
      const p = event.payload as Deposit
      // Write first, then fail: the savepoint must roll the write back.
      tx.run(
        'INSERT INTO balances (account, amount, events) VALUES (?, ?, 1) ' +
          'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1',
        [p.account, p.amount],
      )
      if (failing.has(event.id)) throw new Error(`handler fails on event ${event.id}`)
    },
    reset(tx: SqliteTx): void {
      tx.run('DELETE FROM balances')
    },
  }
  return handler
}

/** The balances table. */
export const BALANCES_DDL =
  'CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL, events INTEGER NOT NULL)'
