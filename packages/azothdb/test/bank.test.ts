import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { balancesProjector, openAccounts, runTransfers, snapshotBank, transfer } from './support/bank.js'
import { expectBankInvariants } from './support/bank-assertions.js'
import { tempDir } from './support/temp-dir.js'

const ACCOUNTS = 1000
const CALLERS = 64
const TRANSFERS = process.env.AZOTH_STRESS ? 50_000 : 8_000

describe.each(['lmdb', 'file'] as const)('the bank (eventLog %s)', (eventLog) => {
  it(`${CALLERS} concurrent callers, ${TRANSFERS} random transfers with requireMin over ${ACCOUNTS} accounts`, async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const projector = await balancesProjector(db)
    await openAccounts(db, ACCOUNTS)
    const { accepted, refused } = await runTransfers(db, {
      callers: CALLERS,
      accounts: ACCOUNTS,
      // Large amounts make some transfers fail their requireMin.
      maxAmount: 700,
      seed: 42,
      idBase: 1,
      stop: (done) => done >= TRANSFERS,
    })
    expect(accepted.size + refused).toBe(TRANSFERS)
    expect(accepted.size).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)

    const stats = await projector.runOnce()
    expect(stats.cursor).toBe(db.head())
    const snap = await snapshotBank(db)
    expectBankInvariants(snap, ACCOUNTS)
    // Exactly the accepted transfers were logged, each once, at the event id its commit reported.
    expect(snap.transferIds.length).toBe(accepted.size)
    expect(snap.eventOfTransfer).toEqual(accepted)
    expect(snap.head).toBe(ACCOUNTS + accepted.size)
    // A refused transfer really lacked the funds when it was refused: probe one now.
    const [poorest, balance] = [...snap.state].sort((a, b) => (a[1] < b[1] ? -1 : 1))[0]!
    const other = poorest === 'acct/0000' ? 'acct/0001' : 'acct/0000'
    expect(await transfer(db, 0, poorest, other, Number(balance) + 1)).toBeUndefined()
    expect(db.get(poorest).asI64()).toBe(balance)
    expect(db.head()).toBe(snap.head)
  }, 120_000)
})
