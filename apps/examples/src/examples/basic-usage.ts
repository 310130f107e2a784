/**
 * basic-usage: create, read, update and delete typed values.
 *
 * Shows `await using db = await Azoth.open(dir)` (closed when the block ends), `writeBatch`
 * (writes without checks), `transaction().keys().execute()` (writes with declared keys), the `TypedValue` kinds (i64, u256, string, bool, f64, set, json),
 * their checked accessors (a wrong accessor throws `TYPE_MISMATCH`), `get`/`getOpt`/`exists`,
 * `scan(prefix)`, `range(start, end)`, deletes, and the events transactions log with `log`,
 * `logMany` and `logBytes`.
 *
 * Run: pnpm example basic-usage
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, isAzothError, TypedValue } from 'azothdb'

const dir = mkdtempSync(join(tmpdir(), 'azoth-basic-usage-'))
try {
  {
    // `await using` closes the database when this block ends, also when it throws.
    await using db = await Azoth.open(dir)

    // Create: a batch commits atomically, without preflight checks or locks.
    await db
      .writeBatch()
      .put('user/1/name', TypedValue.string('Ada'))
      .put('user/1/credits', TypedValue.i64(100n))
      .put('user/1/admin', TypedValue.bool(false))
      .put('user/1/score', TypedValue.f64(4.5))
      .put('user/1/tags', TypedValue.set(['beta', 'early']))
      .put('user/1/profile', TypedValue.json({ city: 'London', languages: ['en', 'fr'] }))
      .put('user/2/name', 'Grace') // plain values map to a TypedValue: string → string, bigint → i64
      .put('supply', TypedValue.u256(2n ** 200n))
      .appendEvent('users-created', { ids: [1, 2] })
      .commit()

    // Read: every accessor checks the kind.
    console.log('name:', db.get('user/1/name').asString())
    console.log('credits:', db.get('user/1/credits').asI64())
    console.log('tags:', db.get('user/1/tags').asSet())
    console.log('profile:', db.get('user/1/profile').asJson())
    console.log('supply > 2^199:', db.get('supply').asU256() > 2n ** 199n)
    try {
      db.get('user/1/name').asI64()
    } catch (e) {
      console.log('reading a string as i64 fails with', isAzothError(e) ? e.code : e)
    }
    console.log('user/3 exists:', db.exists('user/3/name'), '- getOpt gives', db.getOpt('user/3/name'))

    // Update: a transaction declares the keys it touches; execute runs in the single writer.
    const info = await db
      .transaction()
      .keys(['user/1/credits', 'user/1/tags'])
      .execute((tx) => {
        tx.update('user/1/credits', (old) => TypedValue.i64((old?.asI64() ?? 0n) + 25n))
        tx.update('user/1/tags', (old) => TypedValue.set([...(old?.asSet() ?? []), 'paid']))
        tx.log('credits-added', { user: 1, amount: 25 })
        return 'done'
      })
    console.log('update committed event', info.firstEventId, 'and returned', info.result)
    console.log('credits now:', db.get('user/1/credits').asI64())

    // Scan: every key under a prefix, in key order.
    for (const entry of db.scan('user/1/')) console.log('  ', entry.key, '=', JSON.stringify(entry.value))

    // Range: keys in [start, end), in key order. Zero-padded dates sort as strings, so a range
    // of keys is a range of days.
    await db
      .writeBatch()
      .put('visits/2024-03-01', 12n)
      .put('visits/2024-03-02', 7n)
      .put('visits/2024-03-03', 9n)
      .put('visits/2024-03-04', 4n)
      .commit()
    const days = [...db.range('visits/2024-03-02', 'visits/2024-03-04')]
    console.log(`range [03-02, 03-04): ${days.map((e) => `${e.key}=${e.value.asI64()}`).join(' ')}`)

    // Delete, and log several events in the same transaction.
    await db
      .transaction()
      .keys(['user/2/name'])
      .execute((tx) => {
        tx.delete('user/2/name')
        // Several events in one call, in order; raw bytes (already encoded elsewhere) stay as they are.
        tx.logMany([
          ['user-deleted', { user: 2 }],
          ['audit', { action: 'delete', by: 'admin' }],
        ])
        tx.logBytes(new TextEncoder().encode('user 2 archived'), 'archive-note')
      })
    console.log('user/2 after delete:', db.getOpt('user/2/name'))

    // The event log holds one entry per logged event, in commit order; `logBytes` payloads come back as bytes.
    for (const event of db.events()) {
      const payload =
        event.payload instanceof Uint8Array
          ? `bytes "${new TextDecoder().decode(event.payload)}"`
          : JSON.stringify(event.payload)
      console.log('event', event.id, event.type, payload)
    }
  }

  // The block above closed the database (and released its directory lock), so it reopens.
  await using again = await Azoth.open(dir)
  console.log(`reopened: head ${again.head()}, credits ${again.get('user/1/credits').asI64()}`)
  console.log('ok: basic-usage')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
