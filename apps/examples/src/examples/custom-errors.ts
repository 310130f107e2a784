/**
 * custom-errors: business errors as `AzothError` subclasses with stable codes.
 *
 * A preflight check may throw its own error: when it is an `AzothError` (here subclasses of
 * `PreflightFailedError`), it reaches the caller unchanged, so the application can branch on
 * its class and on a business reason, while generic code still sees `code === 'PREFLIGHT_FAILED'`
 * through `isAzothError(e, 'PREFLIGHT_FAILED')` (which also works across duplicate package
 * copies). Structured `details` and an ES2022 `cause` travel with the error. Also shows that a
 * failed transaction writes nothing and leaves the database usable.
 *
 * Run: pnpm example custom-errors
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, AzothError, isAzothError, PreflightFailedError, TypedValue } from 'azothdb'

/** The account cannot pay: `details` says how much is missing. */
class InsufficientFundsError extends PreflightFailedError {
  /** A business reason, stable like the code, for callers and for logs. */
  readonly reason = 'INSUFFICIENT_FUNDS'
  constructor(account: string, balance: bigint, amount: bigint) {
    super(`${account} has ${balance}, needs ${amount}`, {
      details: { account, missing: (amount - balance).toString() },
    })
  }
}

/** The account is frozen by compliance; `cause` keeps the underlying decision. */
class AccountFrozenError extends PreflightFailedError {
  readonly reason = 'ACCOUNT_FROZEN'
  constructor(account: string, cause: unknown) {
    super(`${account} is frozen`, { cause, details: { account } })
  }
}

/** Withdraws `amount`, with business checks raising the errors above. */
function withdraw(db: Azoth, account: string, amount: bigint) {
  return db
    .transaction()
    .keys([`balance/${account}`])
    .reads([`frozen/${account}`])
    .validate((ctx) => {
      const frozen = ctx.getOpt(`frozen/${account}`)
      if (frozen?.asBool()) throw new AccountFrozenError(account, new Error('sanctions list match'))
      const balance = ctx.getOpt(`balance/${account}`)?.asI64() ?? 0n
      if (balance < amount) throw new InsufficientFundsError(account, balance, amount)
    })
    .execute((tx) => {
      tx.update(`balance/${account}`, (v) => TypedValue.i64(v!.asI64() - amount))
      tx.log('withdrawn', { account, amount })
    })
}

/** What an HTTP layer would do with each error. */
function toHttpStatus(e: unknown): number {
  if (e instanceof InsufficientFundsError) return 402
  if (e instanceof AccountFrozenError) return 403
  if (isAzothError(e, 'PREFLIGHT_FAILED')) return 422
  if (isAzothError(e, 'CONFLICT', 'LOCK_TIMEOUT')) return 409
  return 500
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-custom-errors-'))
try {
  const db = await Azoth.open(dir)
  await db.writeBatch().put('balance/alice', 50n).put('balance/bob', 500n).put('frozen/bob', true).commit()

  for (const [account, amount] of [
    ['alice', 20n],
    ['alice', 100n],
    ['bob', 10n],
  ] as const) {
    try {
      await withdraw(db, account, amount)
      console.log(`withdraw ${amount} from ${account}: ok`)
    } catch (e) {
      if (!(e instanceof AzothError)) throw e
      const reason = e instanceof InsufficientFundsError || e instanceof AccountFrozenError ? e.reason : '-'
      console.log(
        `withdraw ${amount} from ${account}: ${e.name} code=${e.code} reason=${reason} http=${toHttpStatus(e)}`,
        `details=${JSON.stringify(e.details)}`,
        e.cause instanceof Error ? `cause="${e.cause.message}"` : '',
      )
    }
  }

  // Nothing of the failed transactions was written, and the database still works.
  console.log(
    'alice:',
    db.get('balance/alice').asI64(),
    'bob:',
    db.get('balance/bob').asI64(),
    'events:',
    db.head(),
  )
  if (db.get('balance/alice').asI64() !== 30n || db.head() !== 1) throw new Error('unexpected state')
  await db.close()
  console.log('ok: custom-errors')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
