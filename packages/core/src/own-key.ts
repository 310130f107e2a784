/**
 * Sets `object[key] = value` as an own data property. A plain assignment of `'__proto__'` would
 * replace the object's prototype instead (the key JSON.parse keeps as an own property), losing the
 * value and letting data choose an object's prototype; that one key is defined instead.
 */
export function setOwnKey(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
  } else object[key] = value
}
