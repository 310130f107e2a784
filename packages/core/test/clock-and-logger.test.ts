import { getEventListeners } from 'node:events'
import { fixedClock, ManualClock, silentLogger, systemClock } from '@azothdb/core'
import { describe, expect, it } from 'vitest'
import { rejection } from './helpers.js'

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('ManualClock', () => {
  it('starts where told and moves only on advance', () => {
    const clock = new ManualClock(1000)
    expect(clock.now()).toBe(1000)
    clock.advance(5)
    expect(clock.now()).toBe(1005)
    expect(new ManualClock().now()).toBe(0)
  })

  it('sleep resolves only once time has advanced far enough', async () => {
    const clock = new ManualClock()
    let woke = false
    const sleeping = clock.sleep(100).then(() => {
      woke = true
    })
    expect(clock.pending).toBe(1)
    await settle()
    expect(woke).toBe(false)
    clock.advance(99)
    await settle()
    expect(woke).toBe(false)
    clock.advance(1)
    await sleeping
    expect(woke).toBe(true)
    expect(clock.pending).toBe(0)
    expect(clock.sleptMs).toBe(100)
  })

  it('wakes sleepers in deadline order, and only those due', async () => {
    const clock = new ManualClock()
    const order: number[] = []
    const sleeps = [30, 10, 20, 50].map((ms) => clock.sleep(ms).then(() => order.push(ms)))
    clock.advance(30)
    await Promise.all(sleeps.slice(0, 3))
    expect(order).toEqual([10, 20, 30])
    expect(clock.pending).toBe(1)
    clock.advance(20)
    await sleeps[3]
    expect(order).toEqual([10, 20, 30, 50])
  })

  it('a zero or negative sleep resolves at once', async () => {
    const clock = new ManualClock()
    await clock.sleep(0)
    await clock.sleep(-5)
    expect(clock.pending).toBe(0)
  })

  it('abort rejects with the signal reason and forgets the sleeper', async () => {
    const clock = new ManualClock()
    const controller = new AbortController()
    const sleeping = clock.sleep(100, controller.signal)
    const reason = new Error('stop')
    controller.abort(reason)
    expect(await rejection(sleeping)).toBe(reason)
    expect(clock.pending).toBe(0)
    clock.advance(1000) // nothing left to wake, nothing throws
  })

  it('does not pile up abort listeners on a long-lived signal', async () => {
    const clock = new ManualClock()
    const controller = new AbortController()
    for (let i = 0; i < 50; i++) {
      const sleeping = clock.sleep(10, controller.signal)
      clock.advance(10)
      await sleeping
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('an already aborted signal rejects at once', async () => {
    const clock = new ManualClock()
    const signal = AbortSignal.abort(new Error('early'))
    expect(((await rejection(clock.sleep(10, signal))) as Error).message).toBe('early')
    expect(clock.pending).toBe(0)
  })
})

describe('real clocks', () => {
  it('systemClock tells wall time and sleeps for real', async () => {
    const before = Date.now()
    expect(systemClock.now()).toBeGreaterThanOrEqual(before)
    await systemClock.sleep(1)
  })

  it('systemClock sleep rejects when aborted', async () => {
    const controller = new AbortController()
    const sleeping = systemClock.sleep(60_000, controller.signal)
    controller.abort(new Error('cancelled'))
    expect(((await rejection(sleeping)) as Error).message).toBe('cancelled')
    expect(
      ((await rejection(systemClock.sleep(10, AbortSignal.abort(new Error('x'))))) as Error).message,
    ).toBe('x')
  })

  it('systemClock sleep does not pile up abort listeners', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 20; i++) await systemClock.sleep(0, controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('fixedClock never moves', async () => {
    const clock = fixedClock(42)
    expect(clock.now()).toBe(42)
    await clock.sleep(1)
    expect(clock.now()).toBe(42)
  })
})

describe('silentLogger', () => {
  it('accepts pino-style calls and children', () => {
    silentLogger.info('msg')
    silentLogger.error({ err: new Error('x') }, 'msg')
    expect(silentLogger.child({ component: 'x' })).toBe(silentLogger)
  })
})
