/**
 * lambda-require: preflight validation before a transaction reaches the writer.
 *
 * Shows `require(key, fn)` (any check over a key's committed value), `requireExists`,
 * `requireMin`/`requireMax` (i64 bounds), and async `validate(ctx => ...)` over the declared
 * keys. A check that throws or returns `false` rejects the transaction with `PREFLIGHT_FAILED`
 * and nothing is written. Also shows `UNDECLARED_KEY` (execute may only touch declared keys) and
 * that concurrent withdrawals can never overdraw an account: preflight holds stripe locks on the
 * declared keys, so checks and writes of conflicting transactions never interleave.
 *
 * Run: pnpm example lambda-require
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, isAzothError, TypedValue } from 'azothdb'

/** Runs a transaction and prints how it ended. */
async function attempt(label: string, run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run()
    console.log(`${label}: committed`)
    return true
  } catch (e) {
    if (!isAzothError(e)) throw e
    console.log(`${label}: rejected with ${e.code} (${e.message})`)
    return false
  }
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-lambda-require-'))
try {
  const db = await Azoth.open(dir)
  await db
    .writeBatch()
    .put('account/alice', TypedValue.i64(100n))
    .put('account/bob', TypedValue.i64(0n))
    .put('account/alice/status', 'active')
    .put('account/bob/status', 'frozen')
    .commit()

  /** Moves `amount` from one account to another, if the source can pay and neither is frozen. */
  const transfer = (from: string, to: string, amount: bigint) =>
    db
      .transaction()
      .requireMin(`account/${from}`, amount) // at least `amount` in the source
      .requireExists(`account/${to}`)
      .require(`account/${from}/status`, (v) => v?.asString() === 'active', 'source is active')
      .validate(async (ctx) => {
        // Async checks may call out (a rate limiter, a fraud service...); here: a simple rule.
        await new Promise((resolve) => setTimeout(resolve, 1))
        if (ctx.get(`account/${to}`).asI64() + amount > 1_000n) throw new Error('destination over its cap')
      })
      .execute((tx) => {
        tx.update(`account/${from}`, (v) => TypedValue.i64(v!.asI64() - amount))
        tx.update(`account/${to}`, (v) => TypedValue.i64(v!.asI64() + amount))
        tx.log('transferred', { from, to, amount })
      })

  await attempt('alice → bob 30', () => transfer('alice', 'bob', 30n))
  await attempt('alice → bob 500 (too much)', () => transfer('alice', 'bob', 500n))
  await attempt('bob → alice 10 (bob is frozen)', () => transfer('bob', 'alice', 10n))
  await attempt('alice → carol 10 (no such account)', () => transfer('alice', 'carol', 10n))
  await attempt('requireMax: bob stays under 20', () =>
    db
      .transaction()
      .requireMax('account/bob', 20n)
      .execute(() => {}),
  )
  await attempt('execute touches an undeclared key', () =>
    db
      .transaction()
      .keys(['account/alice'])
      .execute((tx) => tx.set('account/mallory', 1_000n)),
  )

  // Ten concurrent withdrawals of 20 from an account holding 70: exactly three can pass.
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      db
        .transaction()
        .requireMin('account/alice', 20n)
        .execute((tx) => tx.update('account/alice', (v) => TypedValue.i64(v!.asI64() - 20n)))
        .then(
          () => 'ok',
          (e: unknown) => (isAzothError(e) ? e.code : `unexpected ${i}`),
        ),
    ),
  )
  const passed = results.filter((r) => r === 'ok').length
  console.log(
    `concurrent withdrawals: ${passed} passed, ${results.length - passed} rejected`,
    results.join(' '),
  )

  const alice = db.get('account/alice').asI64()
  const bob = db.get('account/bob').asI64()
  console.log(`balances: alice ${alice}, bob ${bob}; events logged: ${db.head()}`)
  if (alice !== 10n || bob !== 30n || passed !== 3) throw new Error('unexpected balances')
  await db.close()
  console.log('ok: lambda-require')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
