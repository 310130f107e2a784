import type { Azoth, AzothEvent, Subscription } from 'azothdb'
import type { CliContext } from '../cli-context.js'
import { eventCells, eventJson } from '../event-format.js'
import { openForReading, withDatabase } from '../open-database.js'
import { StreamingTable } from '../tables.js'

export interface EventsOptions {
  readonly from?: number
  readonly to?: number
  readonly type?: readonly string[]
  readonly stream?: string
  readonly limit?: number
  readonly follow?: boolean
}

/** Prints events that pass the filters, up to the limit; tells when the limit is reached. */
class EventPrinter {
  readonly #ctx: CliContext
  readonly #types: ReadonlySet<string> | undefined
  readonly #stream: string | undefined
  readonly #limit: number
  readonly #table: StreamingTable | undefined
  #printed = 0

  constructor(ctx: CliContext, opts: EventsOptions) {
    this.#ctx = ctx
    this.#types = opts.type === undefined || opts.type.length === 0 ? undefined : new Set(opts.type)
    this.#stream = opts.stream
    this.#limit = opts.limit ?? Number.POSITIVE_INFINITY
    this.#table = ctx.json
      ? undefined
      : new StreamingTable(ctx, ['id', 'time', 'type', 'stream', 'payload'], [8, 24, 24, 20])
  }

  /** Prints `event` if it matches; false once the limit is reached (stop reading). */
  offer(event: AzothEvent): boolean {
    if (this.#printed >= this.#limit) return false
    if (this.#types !== undefined && !this.#types.has(event.type)) return true
    if (this.#stream !== undefined && event.stream?.name !== this.#stream) return true
    this.#printed++
    if (this.#table === undefined) this.#ctx.printJson(eventJson(event))
    else this.#table.row(eventCells(event))
    return this.#printed < this.#limit
  }
}

function listStored(db: Azoth, printer: EventPrinter, opts: EventsOptions): void {
  const query = {
    ...(opts.from === undefined ? {} : { from: opts.from }),
    ...(opts.to === undefined ? {} : { to: opts.to }),
  }
  for (const event of db.events(query)) if (!printer.offer(event)) return
}

/**
 * Stored events from `--from` (default: only new ones), then each new commit as the writer makes
 * it, until Ctrl-C, `--to` or `--limit`. A read-only database hears of no commit from the writer
 * process, so its feed polls (every 100 ms).
 */
async function follow(
  ctx: CliContext,
  feed: Subscription,
  printer: EventPrinter,
  opts: EventsOptions,
): Promise<void> {
  const signal = ctx.interruptSignal()
  const stop = (): void => feed.close()
  signal.addEventListener('abort', stop, { once: true })
  try {
    for await (const event of feed) {
      if (opts.to !== undefined && event.id > opts.to) return
      if (!printer.offer(event)) return
      if (opts.to !== undefined && event.id === opts.to) return
    }
  } finally {
    signal.removeEventListener('abort', stop)
    feed.close()
  }
}

/** `azothdb events <dir>`: the event log, filtered, as a table or JSON lines; `--follow` tails it. */
export async function eventsCommand(ctx: CliContext, dir: string, opts: EventsOptions): Promise<void> {
  await withDatabase(ctx, openForReading(ctx, dir), async (db) => {
    // The feed starts before the header is printed: whoever waits for the header to commit knows
    // the feed will see the commit.
    const feed = opts.follow === true ? db.subscribe({ from: opts.from ?? db.head() + 1 }) : undefined
    const printer = new EventPrinter(ctx, opts)
    if (feed !== undefined) await follow(ctx, feed, printer, opts)
    else listStored(db, printer, opts)
  })
}
