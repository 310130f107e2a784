import {
  Azoth,
  ErrorStrategy,
  type EventLogKind,
  type Migration,
  type ProjectorOptions,
  silentLogger,
} from 'azothdb'
import { handlersModule } from './cli.js'

/** The shape of fixtures/handlers.mjs (plain JavaScript, as an operator writes it). */
interface HandlersFixture {
  readonly migrations: Migration[]
  default(api: { ErrorStrategy: typeof ErrorStrategy }): Record<string, Omit<ProjectorOptions, 'name'>>
}

/** What {@link buildSampleDatabase} wrote, for assertions. */
export const SAMPLE = {
  /** 6 `withdrawn` events (ids 1-3 and 5-7), one `poison` (id 4), one `opened` (id 8). */
  head: 8,
  keys: 5,
  poisonEventId: 4,
} as const

/**
 * A database as an application leaves it: typed values of several kinds (one under a key that is
 * not UTF-8), events, and the `withdrawals` projector of fixtures/handlers.mjs run once, which
 * parks the poison event in the dead-letter queue.
 */
export async function buildSampleDatabase(dir: string, eventLog: EventLogKind = 'lmdb'): Promise<void> {
  const db = await Azoth.open(dir, { eventLog, logger: silentLogger })
  try {
    await db
      .writeBatch()
      .put('acct/alice', 500n)
      .put('acct/bob', 20n)
      .put('name', 'Azoth demo')
      .put('tags', new Set(['b', 'a']))
      .put(new Uint8Array([0xff, 0x00, 0x01]), new Uint8Array([1, 2, 3]))
      .commit()
    for (let i = 1; i <= 7; i++) {
      const type = i === SAMPLE.poisonEventId ? 'poison' : 'withdrawn'
      await db
        .writeBatch()
        .appendEvent(type, { account: 'acct/alice', amount: i * 10 })
        .commit()
    }
    await db.writeBatch().appendEvent('opened', { account: 'acct/carol' }).commit()
    const module = (await import(handlersModule)) as HandlersFixture
    await db.migrate(module.migrations)
    const specs = module.default({ ErrorStrategy })
    await db.projector({ name: 'withdrawals', ...specs.withdrawals }).runOnce()
  } finally {
    await db.close()
  }
}
