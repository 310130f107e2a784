import { expect } from 'vitest'
import { type BankSnapshot, INITIAL_BALANCE } from './bank.js'

/**
 * The bank invariants: money conserved, no negative balance, ids gapless, each transfer logged
 * exactly once, and state = replay of the events = the projection.
 */
export function expectBankInvariants(snap: BankSnapshot, accounts: number): void {
  expect(snap.state.size).toBe(accounts)
  expect(snap.total).toBe(INITIAL_BALANCE * BigInt(accounts))
  expect(snap.negative).toEqual([])
  expect(snap.eventIds).toEqual(Array.from({ length: snap.head }, (_, i) => i + 1))
  expect(new Set(snap.transferIds).size).toBe(snap.transferIds.length)
  expect(snap.replayed).toEqual(snap.state)
  expect(snap.projected).toEqual(snap.state)
}
