// The in-memory model of the property test: what the state and the event log must hold after a
// sequence of operations, and the database under test (which a command may close and replace).
import { Buffer } from 'node:buffer'
import type { Azoth, Key, TypedValue } from 'azothdb'

export type ModelValue =
  | { readonly kind: 'i64'; readonly v: bigint }
  | { readonly kind: 'string'; readonly v: string }

export const I64_MIN = -(2n ** 63n)
export const I64_MAX = 2n ** 63n - 1n

/** Keys compare bytewise; the model keys them by hex of their bytes. */
export function keyId(key: Key): string {
  return Buffer.from(typeof key === 'string' ? Buffer.from(key, 'utf8') : key).toString('hex')
}

export function modelOf(value: TypedValue): ModelValue {
  return value.kind === 'i64' ? { kind: 'i64', v: value.asI64() } : { kind: 'string', v: value.asString() }
}

export function showValue(v: ModelValue | undefined): string {
  return v === undefined ? 'none' : `${v.kind}:${String(v.v)}`
}

export class StateModel {
  readonly state = new Map<string, ModelValue>()
  /** Every committed event as `type payload-json`, in id order. */
  readonly events: string[] = []
}

/** The database under test; reopen and restore commands swap `db` and `dir`. */
export interface RealDatabase {
  db: Azoth
  dir: string
  readonly eventLog: 'lmdb' | 'file'
  readonly root: string
  reopens: number
}
