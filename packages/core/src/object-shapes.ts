// Decoded maps become objects through one generated builder per sequence of keys. Assigning keys
// one by one into `{}` goes through V8's megamorphic store path (a map transition looked up per
// key and object) as soon as a decoder sees payloads of a few shapes; an object literal of known
// keys is allocated with its final hidden class at once. The key sequences form a trie, bounded in
// size (a full trie starts over). A builder is generated only for a sequence seen a few times, so
// maps keyed by ids (a new sequence each) cost no code generation; those, and every map where code
// generation is disallowed, are built key by key.

import { setOwnKey } from './own-key.js'

/** Builds an object from `values[base + i]` as the i-th key's value. */
type ObjectBuilder = (values: readonly unknown[], base: number) => Record<string, unknown>

/** The most shapes kept, all key sequences together. */
const MAX_SHAPES = 4_096
/** Maps of one sequence built key by key before a builder is generated for it. */
const USES_BEFORE_CODEGEN = 3

let shapeCount = 0
let codegenRefused = false

/** One sequence of keys: a node of the trie, its keys those on the path from the root. */
export class ObjectShape {
  /** The key that last followed this sequence, with its node: the usual next step, found without a map. */
  nextKey: string | undefined = undefined
  next: ObjectShape | undefined = undefined
  private others: Map<string, ObjectShape> | undefined = undefined
  private builder: ObjectBuilder | undefined = undefined
  private uses = 0

  constructor(
    private readonly parent: ObjectShape | undefined,
    private readonly key: string,
  ) {}

  /** The sequence with `key` appended. */
  child(key: string): ObjectShape {
    if (key === this.nextKey) return this.next!
    let shape = this.others?.get(key)
    if (shape === undefined) {
      if (shapeCount >= MAX_SHAPES) startOver()
      shapeCount++
      shape = new ObjectShape(this, key)
      if (this.next !== undefined) {
        this.others ??= new Map()
        this.others.set(this.nextKey!, this.next)
        this.others.set(key, shape)
      }
    }
    this.nextKey = key
    this.next = shape
    return shape
  }

  /** A new object with this sequence's keys and `values[base, base + keys)` as their values. */
  build(values: readonly unknown[], base: number): Record<string, unknown> {
    if (this.builder !== undefined) return this.builder(values, base)
    const keys = this.keys()
    if (++this.uses >= USES_BEFORE_CODEGEN) this.builder = compile(keys)
    return buildByKeys(keys, values, base)
  }

  private keys(): string[] {
    const keys: string[] = []
    for (let s: ObjectShape | undefined = this; s !== undefined && s !== rootShape; s = s.parent) {
      keys.push(s.key)
    }
    return keys.reverse()
  }

  /** @internal forgets every sequence (the root's children). */
  clear(): void {
    this.nextKey = undefined
    this.next = undefined
    this.others = undefined
  }
}

/** The empty sequence, where every map's keys start. */
export const rootShape = new ObjectShape(undefined, '')

function startOver(): void {
  rootShape.clear()
  shapeCount = 0
}

function buildByKeys(
  keys: readonly string[],
  values: readonly unknown[],
  base: number,
): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  for (let i = 0; i < keys.length; i++) setOwnKey(object, keys[i]!, values[base + i])
  return object
}

function compile(keys: readonly string[]): ObjectBuilder {
  if (codegenRefused) return (values, base) => buildByKeys(keys, values, base)
  // Keys as JSON string literals cannot be code. A literal `"__proto__": x` would set the
  // prototype; the computed form `["__proto__"]: x` defines an own property like any other key.
  const fields = keys
    .map((k, i) => `${k === '__proto__' ? `[${JSON.stringify(k)}]` : JSON.stringify(k)}: v[b + ${i}]`)
    .join(', ')
  try {
    return new Function('v', 'b', `'use strict'; return { ${fields} }`) as ObjectBuilder
  } catch {
    // --disallow-code-generation-from-strings, or a policy refusing eval.
    codegenRefused = true
    return (values, base) => buildByKeys(keys, values, base)
  }
}
