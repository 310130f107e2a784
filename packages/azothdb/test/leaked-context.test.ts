import { Azoth, type ExecuteContext, type PreflightContext, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

async function seeded() {
  const db = await Azoth.open(tempDir())
  await db
    .writeBatch()
    .put('a', TypedValue.i64(10n))
    .put('b', TypedValue.i64(0n))
    .appendEvent('seeded')
    .commit()
  return db
}

function fingerprint(db: Azoth) {
  return { head: db.head(), digest: db.stateDigest(), types: [...db.events()].map((e) => e.type) }
}

/** Every method of an execute context, each called as a leaked context would. */
const EXECUTE_CALLS: Record<string, (ctx: ExecuteContext) => unknown> = {
  get: (ctx) => ctx.get('a'),
  getOpt: (ctx) => ctx.getOpt('a'),
  exists: (ctx) => ctx.exists('a'),
  set: (ctx) => ctx.set('a', 99n),
  delete: (ctx) => ctx.delete('a'),
  update: (ctx) => ctx.update('a', () => 99n),
  log: (ctx) => ctx.log('leaked', {}),
  logMany: (ctx) => ctx.logMany([['leaked', {}]]),
  logBytes: (ctx) => ctx.logBytes(new Uint8Array([1]), 'leaked'),
  appendToStream: (ctx) => ctx.appendToStream('s-1', [{ type: 'leaked' }]),
}

describe('a context is dead once its transaction ends', () => {
  it.each(Object.entries(EXECUTE_CALLS))(
    'execute context, %s after execute returned: CLOSED, nothing written',
    async (_, call) => {
      await using db = await seeded()
      let leaked: ExecuteContext | undefined
      const before = fingerprint(db)
      const outcome = db
        .transaction()
        .keys(['a'])
        .streams(['s-1'])
        .execute((tx) => {
          leaked = tx
        })
        .then(() => call(leaked!))
      await expectCode(outcome, 'CLOSED')
      expect(fingerprint(db)).toEqual(before)
      // Later commits carry nothing of the leaked call either.
      await db.writeBatch().put('c', 1n).commit()
      expect(db.get('a').asI64()).toBe(10n)
      expect([...db.events()].map((e) => e.type)).toEqual(before.types)
    },
  )

  it('a context leaked into another transaction of the same group writes nothing there', async () => {
    await using db = await seeded()
    let leaked: ExecuteContext | undefined
    const before = fingerprint(db)
    // Queued in the same tick: both run in one group commit, the second after the first returned.
    const first = db
      .transaction()
      .keys(['a'])
      .execute((tx) => {
        leaked = tx
        tx.log('first')
      })
    const second = db
      .transaction()
      .keys(['b'])
      .execute((tx) => {
        tx.set('b', 1n)
        leaked!.set('a', 99n) // 'a' was never declared by this transaction
        leaked!.log('sneaky')
      })
    const third = db
      .transaction()
      .keys(['b'])
      .execute((tx) => {
        try {
          leaked!.set('a', 98n)
        } catch {
          // a caller that swallows the error still writes only its own keys
        }
        tx.set('b', 2n)
      })
    const [one, two, three] = await Promise.allSettled([first, second, third])
    expect(one.status).toBe('fulfilled')
    expect(three.status).toBe('fulfilled')
    await expectCode(Promise.reject((two as PromiseRejectedResult).reason), 'CLOSED')
    expect(db.get('a').asI64()).toBe(10n)
    expect(db.get('b').asI64()).toBe(2n)
    expect([...db.events()].map((e) => e.type)).toEqual([...before.types, 'first'])
  })

  it('preflight context after its preflight: CLOSED, also from a validator that kept it', async () => {
    await using db = await seeded()
    let leaked: PreflightContext | undefined
    await db
      .transaction()
      .keys(['a'])
      .validate((ctx) => {
        leaked = ctx
        return ctx.get('a').asI64() > 0n
      })
      .execute((tx) => tx.set('a', 11n))
    await expectCode(() => leaked!.get('a'), 'CLOSED')
    await expectCode(() => leaked!.getOpt('a'), 'CLOSED')
    await expectCode(() => leaked!.exists('a'), 'CLOSED')
    // A failed preflight ends its context too.
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .validate((ctx) => {
          leaked = ctx
          return false
        })
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    await expectCode(() => leaked!.get('a'), 'CLOSED')
    expect(db.get('a').asI64()).toBe(11n)
  })

  it('write batch after commit: INVALID_ARGUMENT, the commit carries only what came before', async () => {
    await using db = await seeded()
    const before = fingerprint(db)
    const batch = db.writeBatch().put('c', 1n)
    const committing = batch.commit()
    // Before the writer ran: these would have joined the queued commit.
    await expectCode(() => batch.put('d', 1n), 'INVALID_ARGUMENT')
    await expectCode(() => batch.delete('a'), 'INVALID_ARGUMENT')
    await expectCode(() => batch.appendEvent('late'), 'INVALID_ARGUMENT')
    await expectCode(() => batch.appendBytes('late', new Uint8Array([1])), 'INVALID_ARGUMENT')
    await committing
    await expectCode(() => batch.put('e', 1n), 'INVALID_ARGUMENT')
    await expectCode(batch.commit(), 'INVALID_ARGUMENT')
    expect([db.exists('c'), db.exists('d'), db.exists('e'), db.exists('a')]).toEqual([
      true,
      false,
      false,
      true,
    ])
    expect(db.head()).toBe(before.head)
  })

  it('snapshot after close: CLOSED', async () => {
    await using db = await seeded()
    const snap = db.snapshot()
    snap.close()
    await expectCode(() => snap.get('a'), 'CLOSED')
    await expectCode(() => [...snap.scan('')], 'CLOSED')
  })
})
