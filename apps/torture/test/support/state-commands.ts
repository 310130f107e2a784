import { join } from 'node:path'
import { Azoth, isAzothError, type Key, TypedValue } from 'azothdb'
import fc from 'fast-check'
import {
  I64_MAX,
  I64_MIN,
  keyId,
  type ModelValue,
  modelOf,
  type RealDatabase,
  type StateModel,
  showValue,
} from './state-model.js'

type Cmd = fc.AsyncCommand<StateModel, RealDatabase>

/** Rejects unless `run` fails with an AzothError; then nothing may have changed (checked by the caller). */
async function expectRefused(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run()
  } catch (e) {
    if (isAzothError(e)) return
    throw new Error(`${what}: raw error ${String(e)}`)
  }
  throw new Error(`${what}: committed where the model says it must be refused`)
}

/** The database agrees with the model about one key and the head. */
function checkKey(m: StateModel, r: RealDatabase, key: Key): void {
  const got = r.db.getOpt(key)
  const want = m.state.get(keyId(key))
  const same =
    got === undefined ? want === undefined : want !== undefined && showValue(modelOf(got)) === showValue(want)
  if (!same)
    throw new Error(
      `key ${keyId(key)}: database ${got === undefined ? 'none' : showValue(modelOf(got))}, model ${showValue(want)}`,
    )
  if (r.db.head() !== m.events.length) throw new Error(`head ${r.db.head()}, model ${m.events.length} events`)
}

/** The whole state and every event agree with the model. */
export function checkAll(m: StateModel, r: RealDatabase): void {
  const seen = new Map<string, ModelValue>()
  // A bytes prefix returns every key as its bytes (string-prefix scans are checked on their own).
  for (const { key, value } of r.db.scan(new Uint8Array(0))) seen.set(keyId(key), modelOf(value))
  const render = (s: Map<string, ModelValue>) =>
    JSON.stringify([...s].map(([k, v]) => [k, showValue(v)]).sort())
  if (render(seen) !== render(m.state)) throw new Error(`state ${render(seen)}, model ${render(m.state)}`)
  const events = [...r.db.events()].map((e) => `${e.type} ${JSON.stringify(e.payload)}`)
  if (JSON.stringify(events) !== JSON.stringify(m.events))
    throw new Error(`events ${events.length} differ from the model's ${m.events.length}`)
}

class Put implements Cmd {
  constructor(
    readonly key: Key,
    readonly value: ModelValue,
  ) {}
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    const v = this.value.kind === 'i64' ? TypedValue.i64(this.value.v) : TypedValue.string(this.value.v)
    const payload = { key: keyId(this.key), value: showValue(this.value) }
    await r.db.writeBatch().put(this.key, v).appendEvent('put', payload).commit()
    m.state.set(keyId(this.key), this.value)
    m.events.push(`put ${JSON.stringify(payload)}`)
    checkKey(m, r, this.key)
  }
  toString = () => `put(${keyId(this.key)}, ${showValue(this.value)})`
}

class Delete implements Cmd {
  constructor(readonly key: Key) {}
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    await r.db
      .writeBatch()
      .delete(this.key)
      .appendEvent('delete', { key: keyId(this.key) })
      .commit()
    m.state.delete(keyId(this.key))
    m.events.push(`delete ${JSON.stringify({ key: keyId(this.key) })}`)
    checkKey(m, r, this.key)
  }
  toString = () => `delete(${keyId(this.key)})`
}

/** A preflighted move of `amount` from one i64 key to another (missing counts as 0 for the target). */
class Move implements Cmd {
  constructor(
    readonly from: Key,
    readonly to: Key,
    readonly amount: bigint,
  ) {}
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    const from = m.state.get(keyId(this.from))
    const same = keyId(this.from) === keyId(this.to)
    const to = same ? from : m.state.get(keyId(this.to))
    const toValue = to === undefined ? 0n : to.kind === 'i64' ? to.v : undefined
    const ok =
      from?.kind === 'i64' &&
      from.v >= this.amount &&
      toValue !== undefined &&
      (same || (toValue + this.amount <= I64_MAX && from.v - this.amount >= I64_MIN))
    const payload = { from: keyId(this.from), to: keyId(this.to), amount: String(this.amount) }
    const attempt = () =>
      r.db
        .transaction()
        .requireMin(this.from, this.amount)
        .keys([this.to])
        .execute((tx) => {
          tx.update(this.from, (v) => TypedValue.i64(v!.asI64() - this.amount))
          tx.update(this.to, (v) => TypedValue.i64((v?.asI64() ?? 0n) + this.amount))
          tx.log('move', payload)
        })
    if (!ok) await expectRefused(this.toString(), attempt)
    else {
      await attempt()
      if (!same) {
        m.state.set(keyId(this.from), { kind: 'i64', v: from.v - this.amount })
        m.state.set(keyId(this.to), { kind: 'i64', v: toValue + this.amount })
      } else if (to === undefined) m.state.set(keyId(this.to), { kind: 'i64', v: this.amount })
      m.events.push(`move ${JSON.stringify(payload)}`)
    }
    checkKey(m, r, this.from)
    checkKey(m, r, this.to)
  }
  toString = () => `move(${keyId(this.from)} -> ${keyId(this.to)}, ${this.amount})`
}

/** Input over a limit: refused with a code, nothing written. */
class Oversized implements Cmd {
  constructor(readonly what: 'key' | 'event') {}
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    const batch =
      this.what === 'key'
        ? r.db.writeBatch().put('k'.repeat(600), 1n).appendEvent('never', {})
        : r.db
            .writeBatch()
            .put('a', 1n)
            .appendEvent('never', { blob: 'x'.repeat(5 * 1024 * 1024) })
    await expectRefused(this.toString(), () => batch.commit())
    checkKey(m, r, 'a')
  }
  toString = () => `oversized(${this.what})`
}

class Reopen implements Cmd {
  constructor(readonly durability: 'sync' | 'relaxed') {}
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    await r.db.close()
    r.db = await Azoth.open(r.dir, { eventLog: r.eventLog, durability: this.durability })
    r.reopens++
    checkAll(m, r)
  }
  toString = () => `reopen(${this.durability})`
}

/** Backs up, closes, restores into a new directory and carries on there. */
class BackupRestore implements Cmd {
  check = () => true
  async run(m: StateModel, r: RealDatabase): Promise<void> {
    const n = r.reopens++
    const backup = join(r.root, `backup-${n}`)
    await r.db.backupTo(backup)
    await r.db.close()
    r.dir = join(r.root, `restored-${n}`)
    r.db = await Azoth.restoreFrom(backup, r.dir)
    checkAll(m, r)
  }
  toString = () => 'backupRestore'
}

const KEYS: Key[] = ['a', 'b', 'c', 'é', 'k/1', 'k/10', new Uint8Array([0xff, 0x00, 0x01])]

export function stateCommands(): fc.Arbitrary<Iterable<Cmd>> {
  const key = fc.constantFrom(...KEYS)
  const value: fc.Arbitrary<ModelValue> = fc.oneof(
    fc.bigInt(-1_000n, 1_000n).map((v) => ({ kind: 'i64' as const, v })),
    fc.constantFrom(I64_MAX, I64_MIN, I64_MAX - 5n).map((v) => ({ kind: 'i64' as const, v })),
    fc.string({ maxLength: 12 }).map((v) => ({ kind: 'string' as const, v })),
  )
  return fc.commands(
    [
      fc.tuple(key, value).map(([k, v]) => new Put(k, v)),
      key.map((k) => new Delete(k)),
      fc.tuple(key, key, fc.bigInt(0n, 600n)).map(([a, b, n]) => new Move(a, b, n)),
      fc.tuple(key, key, fc.constantFrom(10n, I64_MAX)).map(([a, b, n]) => new Move(a, b, n)),
      fc.constantFrom('key' as const, 'event' as const).map((w) => new Oversized(w)),
      fc.constantFrom('sync' as const, 'relaxed' as const).map((d) => new Reopen(d)),
      fc.constant(new BackupRestore()),
    ],
    { maxCommands: 30 },
  )
}
