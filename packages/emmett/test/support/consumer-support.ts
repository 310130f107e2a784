import type { AzothReadEventMetadata } from '@azothdb/emmett'
import type { Event, RecordedMessage } from '@event-driven-io/emmett'
import type { Azoth, Logger } from 'azothdb'
import { expect, vi } from 'vitest'

export type ItemAdded = Event<'ItemAdded', { sku: string; qty: number }>
export const added = (sku: string, qty = 1): ItemAdded => ({ type: 'ItemAdded', data: { sku, qty } })

/** One line a logger received. */
export interface LogLine {
  readonly level: string
  readonly fields: Record<string, unknown>
  readonly msg: string | undefined
}

/** A pino-shaped logger that keeps every line (children included) in `lines`. */
export function recordingLogger(): { readonly logger: Logger; readonly lines: LogLine[] } {
  const lines: LogLine[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: object | string, msg?: string): void => {
        if (typeof obj === 'string') lines.push({ level, fields: bindings, msg: obj })
        else lines.push({ level, fields: { ...bindings, ...obj }, msg })
      }
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    }
  }
  return { logger: make({}), lines }
}

/** A message as a processor received it. */
// biome-ignore lint/suspicious/noExplicitAny: processors of every message type push here
export type Seen = RecordedMessage<any, AzothReadEventMetadata>

/** The global positions of what a processor saw, in the order it saw them. */
export const positions = (seen: readonly Seen[]): number[] =>
  seen.map((e) => Number(e.metadata.globalPosition))

/** 1..n */
export const upTo = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Waits (without a time threshold to meet: only a generous ceiling) until `seen` holds `count` events. */
export async function untilSeen(seen: readonly unknown[], count: number): Promise<void> {
  await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(count), { timeout: 10_000, interval: 5 })
}

/** Waits until the consumer has opened its feed (so every start position is fixed). */
export async function untilFeedOpen(db: Azoth): Promise<void> {
  await vi.waitFor(async () => expect((await db.metrics()).subscriptions).toBe(1), {
    timeout: 20_000,
    interval: 5,
  })
}
