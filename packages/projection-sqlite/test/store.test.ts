import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AzothError, isAzothError, ManualClock } from '@azothdb/core'
import { restoreSqliteProjection, SqliteProjectionStore } from '@azothdb/projection-sqlite'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
let store: SqliteProjectionStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-psql-'))
  store = SqliteProjectionStore.open({ path: join(dir, 'projection.db') })
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

async function createBalances(s: SqliteProjectionStore): Promise<void> {
  await s.transaction((tx) => tx.exec('CREATE TABLE balances (id TEXT PRIMARY KEY, amount INTEGER NOT NULL)'))
}

/** `promise`, or a rejection with `message` when it is still pending after `ms`. */
async function within<T>(ms: number, promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

describe('SqliteProjectionStore', () => {
  it('opens in WAL mode with the chosen synchronous setting and system tables', async () => {
    const raw = new Database(join(dir, 'projection.db'), { readonly: true })
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_azoth\\_%' ESCAPE '\\'")
      .pluck()
      .all()
    expect(tables.sort()).toEqual([
      '_azoth_cursors',
      '_azoth_dead_letters',
      '_azoth_meta',
      '_azoth_migrations',
    ])
    raw.close()
    // `synchronous` is per connection: read it on the writer itself, through a transaction.
    // SQLite reports NORMAL as 1 and FULL as 2.
    const writerSynchronous = (s: SqliteProjectionStore) =>
      s.transactionSync((tx) => tx.get<{ synchronous: number }>('PRAGMA synchronous')?.synchronous)
    expect(store.synchronous).toBe('NORMAL')
    expect(writerSynchronous(store)).toBe(1)
    const full = SqliteProjectionStore.open({ path: join(dir, 'full.db'), synchronous: 'FULL' })
    expect(full.synchronous).toBe('FULL')
    expect(writerSynchronous(full)).toBe(2)
    expect(await full.transaction((tx) => tx.get('PRAGMA synchronous'))).toEqual({ synchronous: 2 })
    await full.close()
  })

  it('refuses bad options with CONFIG', () => {
    const bad = [
      { path: '' },
      { path: join(dir, 'x.db'), synchronous: 'OFF' },
      { path: join(dir, 'x.db'), readers: -1 },
      { path: join(dir, 'x.db'), typo: 1 },
      // Used at open (a stale seal is logged): an object without warn() was a raw TypeError there.
      { path: join(dir, 'x.db'), logger: {} },
      { path: join(dir, 'x.db'), clock: 5 },
    ]
    for (const options of bad) {
      expect(() => SqliteProjectionStore.open(options as never)).toThrow(
        expect.objectContaining({ code: 'CONFIG' }),
      )
    }
  })

  it('commits writes and the cursor together, and rolls both back when the function throws', async () => {
    await createBalances(store)
    await store.transaction((tx) => {
      tx.run('INSERT INTO balances VALUES (?, ?)', ['alice', 10])
      tx.setCursor('p', 1)
    })
    await expect(
      store.transaction((tx) => {
        tx.run('INSERT INTO balances VALUES (?, ?)', ['bob', 5])
        tx.setCursor('p', 2)
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await store.getCursor('p')).toBe(1)
    expect(await store.getCursor('other')).toBe(0)
    expect(await store.query('SELECT id, amount FROM balances')).toEqual([{ id: 'alice', amount: 10 }])
    expect(await store.cursors()).toEqual({ p: 1 })
  })

  it('savepoints roll back only their own writes; named parameters work', async () => {
    await createBalances(store)
    await store.transaction((tx) => {
      tx.run('INSERT INTO balances VALUES (@id, @amount)', { id: 'a', amount: 1 })
      expect(() =>
        tx.savepoint(() => {
          tx.run('INSERT INTO balances VALUES (?, ?)', ['b', 2])
          throw new Error('inner')
        }),
      ).toThrow('inner')
      tx.savepoint(() => tx.savepoint(() => tx.run('INSERT INTO balances VALUES (?, ?)', ['c', 3])))
    })
    expect(await store.query('SELECT id FROM balances ORDER BY id')).toEqual([{ id: 'a' }, { id: 'c' }])
  })

  it('binds positional lists the same way whatever their length: blobs yes, nested arrays and objects no', async () => {
    await store.transaction((tx) => tx.exec('CREATE TABLE t (a, b, c)'))
    const long = (first: unknown[]) => [...first, ...Array.from({ length: 20 }, () => 0)].slice(0, 20)
    await store.transaction((tx) => {
      tx.run('INSERT INTO t VALUES (?, ?, ?)', ['x', 1n, Buffer.from([1, 2])])
      tx.run('INSERT INTO t VALUES (?, ?, ?)', ['y', null, new Uint8Array([3])])
      for (const bad of [
        [[1, 2], 3],
        [{ a: 1 }, 2, 3],
        [new Date(0), 2, 3],
      ]) {
        expect(() => tx.run('INSERT INTO t VALUES (?, ?, ?)', bad)).toThrow()
        const wide = `INSERT INTO t SELECT ?, ?, ? WHERE ${Array.from({ length: 17 }, () => '? IS NOT NULL').join(' OR ')}`
        expect(() => tx.run(wide, long(bad))).toThrow()
      }
    })
    expect(await store.query('SELECT a, b, hex(c) AS c FROM t ORDER BY a')).toEqual([
      { a: 'x', b: 1, c: '0102' },
      { a: 'y', b: null, c: '03' },
    ])
  })

  it('async transactions hold the writer; others wait their turn; tx is unusable afterwards', async () => {
    await createBalances(store)
    const order: string[] = []
    let leaked: { run(sql: string): unknown } | undefined
    const slow = store.transaction(async (tx) => {
      leaked = tx
      tx.run("INSERT INTO balances VALUES ('slow', 1)")
      await new Promise((r) => setTimeout(r, 20))
      await tx
        .savepoint(async () => {
          tx.run("INSERT INTO balances VALUES ('sp', 1)")
          await Promise.resolve()
          throw new Error('async inner')
        })
        .catch(() => order.push('inner rolled back'))
      order.push('slow')
    })
    const fast = store.transaction((tx) => {
      tx.run("INSERT INTO balances VALUES ('fast', 1)")
      order.push('fast')
    })
    expect(() => store.transactionSync(() => 1)).toThrow(expect.objectContaining({ code: 'LOCKED' }))
    await slow
    expect(store.transactionSync((tx) => tx.get('SELECT 1 AS x'))).toEqual({ x: 1 })
    await Promise.all([slow, fast])
    expect(order).toEqual(['inner rolled back', 'slow', 'fast'])
    expect(await store.query('SELECT id FROM balances ORDER BY id')).toEqual([{ id: 'fast' }, { id: 'slow' }])
    expect(() => leaked?.run('SELECT 1')).toThrow(expect.objectContaining({ code: 'CLOSED' }))
  })

  it('a tx whose transaction ended cannot write into the next one, not even through its open savepoint', async () => {
    await createBalances(store)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let abandoned!: Promise<unknown>
    // The callback gives up on its savepoint's work (what the projector does with a timed-out
    // handler): the transaction rolls back while that work is still pending.
    await expect(
      store.transaction((tx) => {
        abandoned = tx.savepoint(async () => {
          await gate
          tx.run("INSERT INTO balances VALUES ('late', 1)")
        })
        abandoned.catch(() => undefined)
        throw new Error('gave up')
      }),
    ).rejects.toThrow('gave up')
    const next = store.transaction(async (tx) => {
      tx.run("INSERT INTO balances VALUES ('next', 1)")
      await tx.savepoint(async () => {
        tx.run("INSERT INTO balances VALUES ('next-sp', 1)")
        release()
        await expect(abandoned).rejects.toSatisfy((e) => isAzothError(e, 'CLOSED'))
      })
    })
    await next
    expect(await store.query('SELECT id FROM balances ORDER BY id')).toEqual([
      { id: 'next' },
      { id: 'next-sp' },
    ])
  })

  it('query refuses writing statements and reads only committed data', async () => {
    await createBalances(store)
    await expect(store.query("INSERT INTO balances VALUES ('x', 1)")).rejects.toSatisfy((e) =>
      isAzothError(e, 'INVALID_ARGUMENT'),
    )
    await store.transaction(async (tx) => {
      tx.run("INSERT INTO balances VALUES ('uncommitted', 1)")
      expect(await store.query('SELECT * FROM balances')).toEqual([])
    })
    expect(await store.query('SELECT id FROM balances')).toEqual([{ id: 'uncommitted' }])
  })

  it('query() refuses a write with INVALID_ARGUMENT: every reader connection is read-only, and the store stays usable', async () => {
    await store.transaction((tx) => tx.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'))
    // RETURNING makes the statement return rows, so only the read-only connection can refuse it.
    // Four calls: the two readers are opened on first use, then used round-robin.
    for (let i = 0; i < 4; i++) {
      const error = await store.query("INSERT INTO t (v) VALUES ('leak') RETURNING id").then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isAzothError(error, 'INVALID_ARGUMENT')).toBe(true)
      expect(error).toBeInstanceOf(AzothError)
      expect((error as AzothError).cause).toMatchObject({ code: 'SQLITE_READONLY' })
      expect((error as AzothError).details).toEqual({ sql: "INSERT INTO t (v) VALUES ('leak') RETURNING id" })
    }
    expect(await store.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }])
    expect(store.transactionSync((tx) => tx.get('SELECT count(*) AS n FROM t'))).toEqual({ n: 0 })
    await store.transaction((tx) => {
      tx.run("INSERT INTO t (v) VALUES ('ok')")
      tx.setCursor('p', 1)
    })
    for (let i = 0; i < 2; i++) expect(await store.query('SELECT v FROM t')).toEqual([{ v: 'ok' }])
    expect(await store.getCursor('p')).toBe(1)
  })

  describe.each([
    ['reader connections', (d: string) => ({ path: join(d, 'q.db') })],
    ['the writer (readers: 0)', (d: string) => ({ path: join(d, 'q.db'), readers: 0 })],
    ['the writer (in memory)', () => ({ path: ':memory:' })],
  ])('query() through %s', (_, options) => {
    it('raises INVALID_ARGUMENT, keeping the cause, for bad SQL, failing SQL, bad parameters and writes', async () => {
      const q = SqliteProjectionStore.open(options(dir))
      try {
        await q.transaction((tx) => tx.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'))
        const cases: Array<[string, unknown[] | undefined]> = [
          ['SELEC 1', undefined], // syntax error (prepare)
          ['SELECT * FROM missing', undefined], // no such table (prepare)
          ["SELECT json('{')", undefined], // fails while running
          ['SELECT ?', []], // too few parameters (RangeError)
          ['SELECT ?', [{ not: 'bindable' }]], // TypeError
          ['BEGIN', undefined], // returns no rows
          ["INSERT INTO t (v) VALUES ('x') RETURNING id", undefined], // writes
        ]
        for (const [sql, params] of cases) {
          const error = await q.query(sql, params).then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(isAzothError(error, 'INVALID_ARGUMENT'), sql).toBe(true)
          expect((error as AzothError).details, sql).toMatchObject({ sql })
        }
        for (const sql of ['SELEC 1', "SELECT json('{')"]) {
          const error = await q.query(sql).catch((e: unknown) => e)
          expect((error as AzothError).cause).toMatchObject({ code: 'SQLITE_ERROR' })
        }
        expect(await q.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }])
        expect(await q.query('SELECT ? AS x', [1])).toEqual([{ x: 1 }])
        await q.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('ok')"))
        expect(await q.query('SELECT v FROM t')).toEqual([{ v: 'ok' }])
      } finally {
        await q.close()
      }
    })
  })

  it('keeps dead letters: add with the cursor, list, get, count, markRetry, recordAttempt, remove', async () => {
    const clock = new ManualClock(1000)
    const envelope = new Uint8Array([1, 2, 3])
    await store.transaction((tx) => {
      tx.addDeadLetter({
        projector: 'p',
        eventId: 7,
        eventType: 'T',
        envelope,
        error: new Error('bad'),
        attempts: 1,
        failedAt: clock.now(),
        nextRetryAt: 2000,
      })
      tx.addDeadLetter({
        projector: 'q',
        eventId: 8,
        eventType: 'U',
        envelope,
        error: new Error('worse'),
        attempts: 3,
        failedAt: clock.now(),
      })
      tx.setCursor('p', 7)
    })
    const dl = store.deadLetters
    expect(await dl.count()).toBe(2)
    expect(await dl.count({ projector: 'p' })).toBe(1)
    const [row] = await dl.list({ projector: 'p' })
    expect(row).toMatchObject({
      projector: 'p',
      eventId: 7,
      eventType: 'T',
      errorMessage: 'bad',
      attempts: 1,
      firstFailedAt: 1000,
      nextRetryAt: 2000,
      status: 'pending',
    })
    expect([...row!.envelope]).toEqual([1, 2, 3])
    expect(row!.errorStack).toContain('bad')
    expect(await dl.list({ dueBy: 1999 })).toEqual([])
    expect((await dl.list({ dueBy: 2000 })).map((r) => r.eventId)).toEqual([7])
    await dl.recordAttempt(row!.id, new Error('again'), 3000, { nextRetryAt: 5000 })
    expect(await dl.get(row!.id)).toMatchObject({ attempts: 2, status: 'retrying', errorMessage: 'again' })
    await dl.recordAttempt(row!.id, new Error('last'), 6000, 'permanent')
    expect(await dl.get(row!.id)).toMatchObject({ attempts: 3, status: 'permanent', nextRetryAt: undefined })
    expect(await dl.markRetry(row!.id, 7000)).toBe(true)
    expect(await dl.get(row!.id)).toMatchObject({ status: 'pending', nextRetryAt: 7000 })
    expect(await dl.list({ limit: 1 })).toHaveLength(1)
    expect(await dl.remove(row!.id)).toBe(true)
    expect(await dl.remove(row!.id)).toBe(false)
    expect(await dl.get(row!.id)).toBeUndefined()
    await store.transaction((tx) => expect(tx.clearDeadLetters('q')).toBe(1))
    expect(await dl.count()).toBe(0)
  })

  it('backs up online and restores; a damaged backup is refused with CORRUPTION', async () => {
    await createBalances(store)
    await store.transaction((tx) => {
      for (let i = 0; i < 500; i++) tx.run('INSERT INTO balances VALUES (?, ?)', [`k${i}`, i])
      tx.setCursor('p', 500)
    })
    const backupFile = join(dir, 'backup.db')
    const info = await store.backup(backupFile)
    expect(info).toEqual({ files: [backupFile], cursors: { p: 500 } })
    await store.transaction((tx) => tx.run('DELETE FROM balances'))
    await store.close()
    restoreSqliteProjection(backupFile, join(dir, 'projection.db'))
    store = SqliteProjectionStore.open({ path: join(dir, 'projection.db') })
    expect(await store.query('SELECT count(*) AS n FROM balances')).toEqual([{ n: 500 }])
    expect(await store.getCursor('p')).toBe(500)

    const damaged = join(dir, 'damaged.db')
    writeFileSync(damaged, 'this is not sqlite at all, not even close'.repeat(200))
    expect(() => restoreSqliteProjection(damaged, join(dir, 'other.db'))).toThrow(
      expect.objectContaining({ code: 'CORRUPTION' }),
    )
    expect(() => restoreSqliteProjection(backupFile, '')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    // A target that cannot be written is IO, and leaves no temporary file behind.
    expect(() => restoreSqliteProjection(backupFile, join(dir, 'missing', 'p.db'))).toThrow(
      expect.objectContaining({ code: 'IO' }),
    )
  })

  it('backs up consistent snapshots while transactions keep committing, and the source keeps working', async () => {
    await store.transaction((tx) => {
      tx.exec('CREATE TABLE items (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)')
      tx.exec('CREATE TABLE totals (k TEXT PRIMARY KEY, n INTEGER NOT NULL)')
    })
    // Each transaction adds row n, upserts the total and sets the cursor to n: in any committed
    // state, row count = total = cursor. Awaiting between the statements lets backup steps run
    // while a transaction is half done; between transactions, so they run between commits too.
    let n = 0
    const commit = () =>
      store.transaction(async (tx) => {
        n++
        tx.run('INSERT INTO items VALUES (?, ?)', [n, 'x'.repeat(200)])
        await new Promise((r) => setImmediate(r))
        tx.run('INSERT INTO totals VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = excluded.n', ['rows', n])
        tx.setCursor('p', n)
      })
    // About 300 pages: a backup takes several steps of 100.
    await store.transaction((tx) => {
      for (n = 1; n <= 5000; n++) tx.run('INSERT INTO items VALUES (?, ?)', [n, 'x'.repeat(200)])
      n = 5000
      tx.run("INSERT INTO totals VALUES ('rows', ?)", [n])
      tx.setCursor('p', n)
    })
    let writing = true
    const writer = (async () => {
      while (writing) {
        await commit()
        await new Promise((r) => setImmediate(r))
      }
    })()
    const backups: Array<{ file: string; cursor: number | undefined; before: number; after: number }> = []
    try {
      for (let i = 0; i < 3; i++) {
        const file = join(dir, `live-${i}.db`)
        const before = n
        const info = await within(5_000, store.backup(file), 'backup did not finish while commits went on')
        backups.push({ file, cursor: info.cursors.p, before, after: n })
      }
    } finally {
      writing = false
      await writer
    }

    for (const [i, b] of backups.entries()) {
      expect(b.after).toBeGreaterThan(b.before) // transactions did commit during this backup
      const target = join(dir, `restored-${i}.db`)
      restoreSqliteProjection(b.file, target)
      const restored = SqliteProjectionStore.open({ path: target })
      try {
        const cursor = await restored.getCursor('p')
        expect(cursor).toBe(b.cursor)
        expect(cursor).toBeGreaterThanOrEqual(b.before - 1)
        expect(cursor).toBeLessThanOrEqual(b.after)
        expect(await restored.query('SELECT count(*) AS rows, max(n) AS last FROM items')).toEqual([
          { rows: cursor, last: cursor },
        ])
        expect(await restored.query("SELECT n FROM totals WHERE k = 'rows'")).toEqual([{ n: cursor }])
      } finally {
        await restored.close()
      }
    }
    await commit()
    expect(await store.getCursor('p')).toBe(n)
    expect(await store.query('SELECT count(*) AS rows FROM items')).toEqual([{ rows: n }])
    expect(await store.query("SELECT n FROM totals WHERE k = 'rows'")).toEqual([{ n }])
  }, 30_000)

  it('restore refuses a SQLite file without the system tables with CORRUPTION and writes nothing at the target', async () => {
    const foreign = join(dir, 'foreign.db')
    const raw = new Database(foreign)
    raw.exec(
      "CREATE TABLE balances (id TEXT PRIMARY KEY, amount INTEGER); INSERT INTO balances VALUES ('x', 1)",
    )
    raw.close()
    // A live projection at the target stays as it was.
    await createBalances(store)
    await store.transaction((tx) => {
      tx.run("INSERT INTO balances VALUES ('alice', 10)")
      tx.setCursor('p', 3)
    })
    await store.close()
    const target = join(dir, 'projection.db')
    const filesBefore = readdirSync(dir).sort()
    const bytesBefore = readFileSync(target)
    const refusal = (to: string) => {
      try {
        restoreSqliteProjection(foreign, to)
      } catch (e) {
        return e
      }
      return undefined
    }
    const error = refusal(target)
    expect(isAzothError(error, 'CORRUPTION')).toBe(true)
    expect((error as AzothError).details).toEqual({ where: foreign })
    expect(String((error as AzothError).cause)).toContain('_azoth_cursors')
    expect(readdirSync(dir).sort()).toEqual(filesBefore)
    expect(readFileSync(target).equals(bytesBefore)).toBe(true)
    store = SqliteProjectionStore.open({ path: target })
    expect(await store.query('SELECT id, amount FROM balances')).toEqual([{ id: 'alice', amount: 10 }])
    expect(await store.getCursor('p')).toBe(3)
    // A missing target is not created.
    const fresh = join(dir, 'fresh.db')
    expect(isAzothError(refusal(fresh), 'CORRUPTION')).toBe(true)
    expect(existsSync(fresh)).toBe(false)
    expect(existsSync(`${fresh}.restoring`)).toBe(false)
  })

  it('works in memory and refuses calls after close with CLOSED', async () => {
    const mem = SqliteProjectionStore.open({ path: ':memory:' })
    await createBalances(mem)
    await mem.transaction((tx) => tx.run("INSERT INTO balances VALUES ('m', 1)"))
    expect(await mem.query('SELECT id FROM balances')).toEqual([{ id: 'm' }])
    // A transaction queued behind an async one that is still running when close() is called.
    let release: () => void = () => undefined
    const running = mem.transaction(() => new Promise<void>((r) => (release = r)))
    const queued = mem.transaction(() => 1)
    const closing = mem.close()
    release()
    await running
    await expect(queued).resolves.toBe(1)
    await closing
    await expect(mem.getCursor('p')).rejects.toSatisfy((e) => isAzothError(e, 'CLOSED'))
    await expect(mem.transaction(() => 1)).rejects.toSatisfy((e) => isAzothError(e, 'CLOSED'))
  })
})
