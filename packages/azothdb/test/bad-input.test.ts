import { Azoth, type AzothOptions, isAzothError, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const LIMITS = { maxKeyBytes: 32, maxValueBytes: 256, maxEventBytes: 256, maxTransactionEventBytes: 1024 }

/** What must not change when an operation is refused. */
function fingerprint(db: Azoth) {
  return { head: db.head(), digest: db.stateDigest(), events: [...db.events()] }
}

async function seeded(eventLog: 'lmdb' | 'file', options: AzothOptions = {}) {
  const dir = tempDir()
  const db = await Azoth.open(dir, { eventLog, limits: LIMITS, ...options })
  await db
    .writeBatch()
    .put('a', TypedValue.i64(10n))
    .put('b', TypedValue.i64(0n))
    .put('name', TypedValue.string('azoth'))
    .appendEvent('seeded', {})
    .commit()
  return { dir, db }
}

/** The database still takes a normal transaction. */
async function expectUsable(db: Azoth): Promise<void> {
  const head = db.head()
  const info = await db
    .transaction()
    .requireMin('a', 1n)
    .keys(['b'])
    .execute((tx) => {
      tx.update('a', (v) => TypedValue.i64(v!.asI64() - 1n))
      tx.update('b', (v) => TypedValue.i64(v!.asI64() + 1n))
      tx.log('moved', { amount: 1 })
    })
  expect(info.firstEventId).toBe(head + 1)
  expect(db.head()).toBe(head + 1)
}

describe.each(['lmdb', 'file'] as const)('bad input (eventLog %s)', (eventLog) => {
  it('oversized key, value and event: KEY_TOO_LARGE / VALUE_TOO_LARGE / EVENT_TOO_LARGE, nothing written', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const before = fingerprint(db)
    const longKey = 'k'.repeat(LIMITS.maxKeyBytes + 1)
    const bigValue = 'v'.repeat(LIMITS.maxValueBytes + 1)
    const bigPayload = { blob: 'e'.repeat(LIMITS.maxEventBytes + 1) }
    // Each refused transaction first makes valid writes and logs a valid event: none may land.
    const tx = () =>
      db
        .transaction()
        .keys(['a', longKey])
        .validate(() => true)
    await expectCode(
      tx().execute((t) => {
        t.set('a', 99n)
        t.log('ok', {})
        t.set(longKey, 1n)
      }),
      'KEY_TOO_LARGE',
    )
    await expectCode(
      tx().execute((t) => {
        t.set('a', 99n)
        t.log('ok', {})
        t.set('a', bigValue)
      }),
      'VALUE_TOO_LARGE',
    )
    await expectCode(
      tx().execute((t) => {
        t.set('a', 99n)
        t.log('ok', {})
        t.log('big', bigPayload)
      }),
      'EVENT_TOO_LARGE',
    )
    await expectCode(
      tx().execute((t) => {
        t.set('a', 99n)
        t.logBytes(new Uint8Array(LIMITS.maxEventBytes + 1))
      }),
      'EVENT_TOO_LARGE',
    )
    // Many events that each fit but together exceed the transaction's limit.
    await expectCode(
      tx().execute((t) => {
        for (let i = 0; i < 8; i++) t.log('chunk', { blob: 'c'.repeat(200) })
      }),
      'EVENT_TOO_LARGE',
    )
    await expectCode(db.writeBatch().put('a', 1n).put(longKey, 1n).commit(), 'KEY_TOO_LARGE')
    await expectCode(db.writeBatch().put('a', 1n).put('c', bigValue).commit(), 'VALUE_TOO_LARGE')
    await expectCode(db.writeBatch().put('a', 1n).appendEvent('big', bigPayload).commit(), 'EVENT_TOO_LARGE')
    expect(fingerprint(db)).toEqual(before)
    await expectUsable(db)
  })

  it('wrong TypedValue accessor: TYPE_MISMATCH, in reads, require and execute', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const before = fingerprint(db)
    await expectCode(() => db.get('name').asI64(), 'TYPE_MISMATCH')
    await expectCode(() => db.get('a').asString(), 'TYPE_MISMATCH')
    await expectCode(() => db.get('a').asU256(), 'TYPE_MISMATCH')
    await expectCode(() => TypedValue.i64(2n ** 63n), 'INVALID_ARGUMENT').catch(() => undefined)
    await expectCode(
      db
        .transaction()
        .requireMin('name', 1n)
        .execute(() => {}),
      'TYPE_MISMATCH',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a', 'name'])
        .execute((tx) => {
          tx.set('a', 5n)
          tx.log('half', {})
          tx.set('a', tx.get('name').asI64())
        }),
      'TYPE_MISMATCH',
    )
    expect(fingerprint(db)).toEqual(before)
    await expectUsable(db)
  })

  it('undeclared key and writing a reads() key: UNDECLARED_KEY', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const before = fingerprint(db)
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .execute((tx) => {
          tx.set('a', 1n)
          tx.log('x', {})
          tx.set('b', 1n)
        }),
      'UNDECLARED_KEY',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .execute((tx) => {
          tx.set('a', 1n)
          tx.get('b')
        }),
      'UNDECLARED_KEY',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .execute((tx) => tx.delete('b')),
      'UNDECLARED_KEY',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .validate((ctx) => ctx.exists('b'))
        .execute(() => {}),
      'UNDECLARED_KEY',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .reads(['b'])
        .execute((tx) => {
          expect(tx.get('b').asI64()).toBe(0n)
          tx.set('a', 1n)
          tx.update('b', () => 1n)
        }),
      'UNDECLARED_KEY',
    )
    await expectCode(
      db
        .transaction()
        .reads(['b'])
        .execute((tx) => tx.set('b', 1n)),
      'UNDECLARED_KEY',
    )
    expect(fingerprint(db)).toEqual(before)
    const metrics = await db.metrics()
    expect(metrics.transactions.undeclaredKeys).toBe(6)
    await expectUsable(db)
  })

  it('a failed preflight: PREFLIGHT_FAILED, nothing written', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const before = fingerprint(db)
    await expectCode(
      db
        .transaction()
        .requireMin('a', 11n)
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    await expectCode(
      db
        .transaction()
        .requireMax('a', 9n)
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    await expectCode(
      db
        .transaction()
        .requireExists('nope')
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    await expectCode(
      db
        .transaction()
        .require('a', () => {
          throw new Error('business rule')
        })
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .validate(async () => false)
        .execute(() => {}),
      'PREFLIGHT_FAILED',
    )
    // An execute that throws its own error writes nothing either.
    await expect(
      db
        .transaction()
        .keys(['a'])
        .execute((tx) => {
          tx.set('a', 0n)
          tx.log('half', {})
          throw new Error('changed my mind')
        }),
    ).rejects.toThrow('changed my mind')
    expect(fingerprint(db)).toEqual(before)
    await expectUsable(db)
  })

  it('calls after close: CLOSED; the reopened database is unchanged and usable', async () => {
    const { dir, db } = await seeded(eventLog)
    const before = fingerprint(db)
    const tx = db.transaction().keys(['a'])
    const batch = db.writeBatch().put('a', 1n)
    await db.close()
    await db.close() // idempotent
    await expectCode(() => db.get('a'), 'CLOSED')
    await expectCode(() => db.getOpt('a'), 'CLOSED')
    await expectCode(() => db.exists('a'), 'CLOSED')
    await expectCode(() => [...db.scan('')], 'CLOSED')
    await expectCode(() => [...db.range('a', 'z')], 'CLOSED')
    await expectCode(() => db.head(), 'CLOSED')
    await expectCode(() => [...db.events()], 'CLOSED')
    await expectCode(() => db.subscribe(), 'CLOSED')
    await expectCode(() => db.stateDigest(), 'CLOSED')
    await expectCode(
      () =>
        db
          .transaction()
          .keys(['a'])
          .execute(() => {}),
      'CLOSED',
    )
    await expectCode(() => tx.execute((t) => t.set('a', 1n)), 'CLOSED')
    await expectCode(() => db.writeBatch().put('a', 1n).commit(), 'CLOSED')
    await expectCode(() => batch.commit(), 'CLOSED')
    await expectCode(() => db.query('SELECT 1'), 'CLOSED')
    await expectCode(() => db.migrate([]), 'CLOSED')
    await expectCode(() => db.metrics(), 'CLOSED')
    await expectCode(() => db.projector(), 'CLOSED')
    await expectCode(() => db.backupTo(tempDir()), 'CLOSED')
    await expectCode(() => db.pauseIngestion(), 'CLOSED')
    await expectCode(() => db.seal(), 'CLOSED')
    await expectCode(() => db.deadLetters.list(10), 'CLOSED')
    await expectCode(() => db.snapshot(), 'CLOSED')
    await expectCode(() => db.compactEventLog(), 'CLOSED')
    await expectCode(() => db.resumeIngestion(), 'CLOSED')
    await expectCode(() => db.unseal(), 'CLOSED')
    await expectCode(() => db.projectorBuilder(), 'CLOSED')
    await expectCode(() => db.deadLetters.get(1), 'CLOSED')
    await expectCode(() => db.deadLetters.count(), 'CLOSED')
    await using reopened = await Azoth.open(dir, { eventLog, limits: LIMITS })
    expect(fingerprint(reopened)).toEqual(before)
    await expectUsable(reopened)
  })

  it('close waits for in-flight commits', async () => {
    const { dir, db } = await seeded(eventLog)
    const commits = Array.from({ length: 50 }, (_, i) =>
      db
        .transaction()
        .keys([`k${i}`])
        .execute((tx) => {
          tx.set(`k${i}`, BigInt(i))
          tx.log('k', { i })
        }),
    )
    await db.close()
    const outcomes = await Promise.allSettled(commits)
    const committed = outcomes.filter((o) => o.status === 'fulfilled').length
    await using reopened = await Azoth.open(dir, { eventLog })
    // Every commit that resolved is there; those refused are absent.
    expect(reopened.head()).toBe(1 + committed)
    for (const [i, o] of outcomes.entries()) {
      expect(reopened.exists(`k${i}`)).toBe(o.status === 'fulfilled')
      if (o.status === 'rejected') await expectCode(Promise.reject(o.reason), 'CLOSED')
    }
  })

  it('a second writer process: LOCKED; read-only opens work meanwhile; the writer is unaffected', async () => {
    const { dir, db } = await seeded(eventLog)
    await using _ = db
    await db.writeBatch().put('k', TypedValue.i64(7n)).appendEvent('k', {}).commit()
    const before = fingerprint(db)
    const { stdout, stderr, code } = await runTypeScript(new URL('./fixtures/try-open.ts', import.meta.url), [
      dir,
    ])
    expect(code, stderr).toBe(0)
    expect(stdout).toBe(`open LOCKED\nreadonly ${before.head} 7\n`)
    // In this process too.
    await expectCode(Azoth.open(dir, { eventLog }), 'LOCKED')
    expect(fingerprint(db)).toEqual(before)
    await expectUsable(db)
  }, 60_000)

  it('a malformed events() or subscribe() query: INVALID_ARGUMENT, the same on both backends', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    await db.writeBatch().appendEvent('b').appendEvent('c').commit()
    const queries = [
      { from: 1.5 },
      { from: Number.NaN },
      { from: 'x' },
      { to: -1 },
      { limit: -1 },
      { limit: 1.5 },
    ]
    const outcomes: Record<string, string> = {}
    for (const q of queries) {
      const key = JSON.stringify(q, (_, v) => (Number.isNaN(v) ? 'NaN' : v))
      try {
        outcomes[`events ${key}`] = `ok ${[...db.events(q as never)].map((e) => e.id)}`
      } catch (e) {
        outcomes[`events ${key}`] = isAzothError(e) ? e.code : String(e)
      }
    }
    for (const from of [1.5, -1, Number.NaN]) {
      try {
        const feed = db.subscribe({ from })
        feed.close()
        outcomes[`subscribe ${from}`] = 'ok'
      } catch (e) {
        outcomes[`subscribe ${from}`] = isAzothError(e) ? e.code : String(e)
      }
    }
    // Never a false CORRUPTION alarm, never a silently different answer per backend.
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, 'INVALID_ARGUMENT'])))
    expect([...db.events()].map((e) => e.type)).toEqual(['seeded', 'b', 'c'])
  })

  it('a read-only open refuses every write with READ_ONLY, projections and dead letters included', async () => {
    const { dir, db } = await seeded(eventLog)
    await using _ = db
    await db.migrate([
      { version: 1, name: 't', up: (tx) => tx.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)') },
    ])
    const writerProjector = db.projector({
      name: 'p',
      handlers: [{ eventTypes: '*', handle: (e, tx) => void tx.run('INSERT INTO t VALUES (?)', [e.id]) }],
    })
    await writerProjector.runOnce()
    const before = fingerprint(db)
    await using ro = await Azoth.openReadOnly(dir)
    const writes: Record<string, () => unknown> = {
      writeBatch: () => ro.writeBatch().put('a', 1n).commit(),
      transaction: () =>
        ro
          .transaction()
          .keys(['a'])
          .execute(() => {}),
      migrate: () => ro.migrate([]),
      backupTo: () => ro.backupTo(tempDir()),
      seal: () => ro.seal(),
      pauseIngestion: () => ro.pauseIngestion(),
      compactEventLog: () => ro.compactEventLog(),
      // A projector in a read-only process would move cursors and write rows of the writer's projection.
      projector: async () => {
        const p = ro.projector({
          name: 'sneaky',
          handlers: [
            { eventTypes: '*', handle: (e, tx) => void tx.run('INSERT INTO t VALUES (?)', [e.id + 1000]) },
          ],
        })
        await p.runOnce()
      },
      'deadLetters.remove': () => ro.deadLetters.remove(1),
      'deadLetters.markRetry': () => ro.deadLetters.markRetry(1),
    }
    const accepted: string[] = []
    for (const [name, write] of Object.entries(writes)) {
      const outcome = await Promise.resolve()
        .then(write)
        .then(
          () => 'no error',
          (e: unknown) => e,
        )
      if (!isAzothError(outcome, 'READ_ONLY')) accepted.push(`${name}: ${String(outcome)}`)
    }
    const rows = await db.query('SELECT count(*) AS n FROM t')
    expect({ accepted, rows }).toEqual({ accepted: [], rows: [{ n: before.head }] })
    expect(fingerprint(db)).toEqual(before)
    await expectUsable(db)
  })

  it('reopening with the other eventLog: CONFIG; the database is unchanged', async () => {
    const { dir, db } = await seeded(eventLog)
    const before = fingerprint(db)
    await db.close()
    const other = eventLog === 'lmdb' ? 'file' : 'lmdb'
    await expectCode(Azoth.open(dir, { eventLog: other }), 'CONFIG')
    // The refused open released the directory.
    await using reopened = await Azoth.open(dir)
    expect(reopened.eventLogKind).toBe(eventLog)
    expect(fingerprint(reopened)).toEqual(before)
    await expectUsable(reopened)
  })

  it('lock timeout: LOCK_TIMEOUT while another transaction holds the key in a slow validate', async () => {
    const { db } = await seeded(eventLog, { lockTimeoutMs: 20 })
    await using _ = db
    const before = fingerprint(db)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered!: () => void
    const inValidate = new Promise<void>((r) => {
      entered = r
    })
    const holder = db
      .transaction()
      .keys(['a'])
      .validate(async () => {
        entered()
        await gate
      })
      .execute((tx) => {
        tx.set('a', 100n)
        tx.log('held', {})
      })
    await inValidate
    // It also wants a free key: a timed-out transaction must hold nothing afterwards.
    await expectCode(
      db
        .transaction()
        .keys(['free', 'a', 'zzz'])
        .execute((tx) => {
          tx.set('a', 1n)
          tx.log('never', {})
        }),
      'LOCK_TIMEOUT',
    )
    expect(fingerprint(db)).toEqual(before)
    await db
      .transaction()
      .keys(['free', 'zzz'])
      .execute((tx) => tx.set('free', 1n))
    // A transaction on another key is not blocked.
    await db
      .transaction()
      .keys(['other'])
      .execute((tx) => tx.set('other', 1n))
    release()
    const info = await holder
    expect(info.eventsWritten).toBe(1)
    expect(db.get('a').asI64()).toBe(100n)
    await expectUsable(db)
  })

  it('reads() locks are shared: two readers preflight at once, a writer of the key times out meanwhile', async () => {
    const { db } = await seeded(eventLog, { lockTimeoutMs: 50, stripes: 1 << 16 })
    await using _ = db
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let inside = 0
    let bothInside!: () => void
    const together = new Promise<void>((r) => {
      bothInside = r
    })
    const reader = (key: string) =>
      db
        .transaction()
        .reads(['name'])
        .keys([key])
        .validate(async (ctx) => {
          expect(ctx.get('name').asString()).toBe('azoth')
          if (++inside === 2) bothInside()
          await gate
        })
        .execute((tx) => tx.set(key, TypedValue.string(tx.get('name').asString())))
    const r1 = reader('a')
    const r2 = reader('b')
    await together
    await expectCode(
      db
        .transaction()
        .keys(['name'])
        .execute((tx) => tx.set('name', 'changed')),
      'LOCK_TIMEOUT',
    )
    release()
    await Promise.all([r1, r2])
    expect(db.get('a').asString()).toBe('azoth')
    expect(db.get('b').asString()).toBe('azoth')
    await db
      .transaction()
      .keys(['name'])
      .execute((tx) => tx.set('name', 'changed'))
    expect(db.get('name').asString()).toBe('changed')
  })

  it('metrics count lock timeouts', async () => {
    const { db } = await seeded(eventLog, { lockTimeoutMs: 10 })
    await using _ = db
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered!: () => void
    const inValidate = new Promise<void>((r) => {
      entered = r
    })
    const holder = db
      .transaction()
      .keys(['a'])
      .validate(async () => {
        entered()
        await gate
      })
      .execute(() => {})
    await inValidate
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .execute(() => {}),
      'LOCK_TIMEOUT',
    )
    release()
    await holder
    const { transactions } = await db.metrics()
    expect({ failed: transactions.failed, lockTimeouts: transactions.lockTimeouts }).toEqual({
      failed: 1,
      lockTimeouts: 1,
    })
  })

  it('CONFLICT: a writeBatch changes a preflighted key between preflight and commit', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered!: () => void
    const inValidate = new Promise<void>((r) => {
      entered = r
    })
    const stale = db
      .transaction()
      .requireMin('a', 10n)
      .validate(async (ctx) => {
        expect(ctx.get('a').asI64()).toBe(10n)
        entered()
        await gate
      })
      .execute((tx) => {
        tx.update('a', (v) => TypedValue.i64(v!.asI64() - 10n))
        tx.log('withdrawn', { amount: 10 })
      })
    await inValidate
    await db.writeBatch().put('a', TypedValue.i64(3n)).appendEvent('set', { a: 3 }).commit()
    const before = fingerprint(db)
    release()
    await expectCode(stale, 'CONFLICT')
    expect(fingerprint(db)).toEqual(before)
    expect(db.get('a').asI64()).toBe(3n)
    expect((await db.metrics()).transactions.conflicts).toBe(1)
    await expectUsable(db)
  })

  it('seal refuses commits with SEALED until unsealed; pause holds them until resumed', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const sealedAt = await db.seal()
    expect(sealedAt).toBe(db.head())
    const before = fingerprint(db)
    await expectCode(
      db
        .transaction()
        .keys(['a'])
        .execute((tx) => tx.log('x', {})),
      'SEALED',
    )
    await expectCode(db.writeBatch().appendEvent('x', {}).commit(), 'SEALED')
    expect(fingerprint(db)).toEqual(before)
    db.unseal()
    await expectUsable(db)
    await db.pauseIngestion()
    let done = false
    const waiting = db
      .transaction()
      .keys(['c'])
      .execute((tx) => tx.set('c', 1n))
      .then(() => {
        done = true
      })
    await new Promise((r) => setTimeout(r, 50))
    expect(done).toBe(false)
    expect(db.exists('c')).toBe(false)
    db.resumeIngestion()
    await waiting
    expect(db.get('c').asI64()).toBe(1n)
  })
})
