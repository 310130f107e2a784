import type { Azoth, ProjectionTxControl } from 'azothdb'
import { describe, expectTypeOf, it } from 'vitest'
import { type NatsRelay, startNatsRelay } from '../src/index.js'

/** The transaction of a projection store other than SQLite (PostgreSQL's `PostgresTx`, say). */
interface OtherTx extends ProjectionTxControl {
  readonly dialect: 'other'
}

// Checked by the compiler (`pnpm typecheck`): the relay reads events only, so a database whose
// projections live elsewhere than SQLite must be accepted.
describe('startNatsRelay', () => {
  it('takes a database with any projection store', () => {
    const start = (db: Azoth<OtherTx>): NatsRelay =>
      startNatsRelay(db, { servers: 'nats://127.0.0.1:1', stream: 'S' })
    expectTypeOf(start).returns.toEqualTypeOf<NatsRelay>()
  })
})
