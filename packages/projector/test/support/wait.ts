/** Yields to the event loop until `condition` holds; fails after many turns (no wall-clock limit). */
export async function until(condition: () => boolean | Promise<boolean>, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await condition()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition never became true')
}

/** A few event-loop turns, to let anything that would wrongly happen, happen. */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r))
}
