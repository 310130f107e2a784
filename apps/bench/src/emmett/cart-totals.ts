// The read model of the catch-up cases, the same on every side: one row per cart (stream), the
// items and the amount of its ItemAdded events, one upsert per event.

export const CART_TOTALS_TABLE =
  'CREATE TABLE IF NOT EXISTS cart_totals (cart TEXT PRIMARY KEY, items INTEGER NOT NULL, amount BIGINT NOT NULL)'

/** The upsert with SQLite's `?` placeholders: cart, qty, qty × price. */
export const CART_TOTALS_UPSERT_SQLITE =
  'INSERT INTO cart_totals (cart, items, amount) VALUES (?, ?, ?) ON CONFLICT (cart) DO UPDATE ' +
  'SET items = cart_totals.items + excluded.items, amount = cart_totals.amount + excluded.amount'

/** The same upsert with PostgreSQL's `$n` placeholders. */
export const CART_TOTALS_UPSERT_PG =
  'INSERT INTO cart_totals (cart, items, amount) VALUES ($1, $2, $3) ON CONFLICT (cart) DO UPDATE ' +
  'SET items = cart_totals.items + excluded.items, amount = cart_totals.amount + excluded.amount'

export const CART_TOTALS_ITEMS = 'SELECT coalesce(sum(items), 0) AS items FROM cart_totals'
