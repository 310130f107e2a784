import {
  type Clock,
  decodeEvent,
  type EventHandler,
  encodeEnvelope,
  type Logger,
  ManualClock,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { type StripeLease, StripeLockManager } from '@azothdb/core/internal'
import { describe, expect, expectTypeOf, it } from 'vitest'

describe('interfaces other packages implement', () => {
  it('a pino-shaped logger fits Logger', () => {
    const seen: unknown[][] = []
    const log = (...args: unknown[]) => {
      seen.push(args)
    }
    const pinoLike = {
      level: 'info',
      trace: log,
      debug: log,
      info: log,
      warn: log,
      error: log,
      fatal: log,
      child(_bindings: Record<string, unknown>) {
        return this
      },
    }
    const logger: Logger = pinoLike
    logger.warn({ projector: 'p' }, 'slow')
    logger.child({ a: 1 }).error('boom')
    expect(seen).toEqual([[{ projector: 'p' }, 'slow'], ['boom']])
    expectTypeOf(silentLogger).toMatchTypeOf<Logger>()
  })

  it('the clocks fit Clock', () => {
    expectTypeOf(new ManualClock()).toMatchTypeOf<Clock>()
    expectTypeOf(systemClock).toMatchTypeOf<Clock>()
  })

  it('a lease is released through its one public method', async () => {
    const lease = await new StripeLockManager({ stripes: 2 }).acquire(['k'])
    expectTypeOf(lease).toEqualTypeOf<StripeLease>()
    lease.release()
  })

  it('an EventHandler receives decoded events and the backend transaction', async () => {
    const rows: unknown[] = []
    const handler: EventHandler<{ run(sql: string, ...params: unknown[]): void }> = {
      name: 'balances',
      eventTypes: ['Deposited'],
      handle(event, tx) {
        tx.run('insert', event.id, event.type, event.payload)
      },
    }
    const bytes = encodeEnvelope({ type: 'Deposited', timestamp: 1, payload: { amount: 3 } })
    await handler.handle(decodeEvent(7, bytes), { run: (_sql, ...params) => rows.push(params) })
    expect(rows).toEqual([[7, 'Deposited', { amount: 3 }]])
  })
})
