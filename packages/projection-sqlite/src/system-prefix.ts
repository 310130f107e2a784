/** Prefix of every table the store itself owns; user migrations must not use it. */
export const SYSTEM_PREFIX = '_azoth_'
