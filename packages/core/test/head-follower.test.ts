import { type EventSource, ManualClock } from '@azothdb/core'
import { HeadFollower } from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'

/** An event source reduced to its head and commit notifications. */
function fakeSource() {
  let head = 0
  const listeners = new Set<(head: number) => void>()
  const source: Pick<EventSource, 'onCommit'> = {
    onCommit(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  return {
    source,
    listeners,
    head: () => head,
    commit(to: number) {
      head = to
      for (const l of listeners) l(head)
    },
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

function settled(p: Promise<unknown>): () => boolean {
  let done = false
  void p.then(() => {
    done = true
  })
  return () => done
}

describe('HeadFollower', () => {
  it('resolves at once when ready, and after the commit that makes it ready', async () => {
    const s = fakeSource()
    const follower = new HeadFollower(s.source, new ManualClock())
    await follower.wait(() => true, undefined)
    const waiting = settled(follower.wait(() => s.head() >= 2, undefined))
    s.commit(1)
    await turn()
    expect(waiting()).toBe(false)
    s.commit(2)
    await turn()
    expect(waiting()).toBe(true)
  })

  it('ends a wait after maxMs of the injected clock, not of real time', async () => {
    const s = fakeSource()
    const clock = new ManualClock()
    const follower = new HeadFollower(s.source, clock)
    const waiting = settled(follower.wait(() => false, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(waiting()).toBe(false)
    clock.advance(10)
    await turn()
    expect(waiting()).toBe(true)
    expect(clock.pending).toBe(0)
  })

  it('ends a wait when the signal aborts, leaving no sleeper on the clock', async () => {
    const s = fakeSource()
    const clock = new ManualClock()
    const follower = new HeadFollower(s.source, clock)
    const abort = new AbortController()
    const waiting = settled(follower.wait(() => false, 1_000, abort.signal))
    await turn()
    expect(clock.pending).toBe(1)
    abort.abort()
    await turn()
    expect(waiting()).toBe(true)
    expect(clock.pending).toBe(0)
  })

  it('close() stops listening to the source', () => {
    const s = fakeSource()
    const follower = new HeadFollower(s.source, new ManualClock())
    expect(s.listeners.size).toBe(1)
    follower.close()
    expect(s.listeners.size).toBe(0)
  })
})
