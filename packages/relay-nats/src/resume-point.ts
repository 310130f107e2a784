import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream'
import { type Azoth, AzothError, ConfigError, CorruptionError } from 'azothdb'
import { RELAY_HEADERS } from './message.js'
import type { ResolvedRelayOptions } from './options.js'

/**
 * Where publishing goes on: the next event to publish and the stream's last sequence before it.
 * The relay is the stream's only publisher, so event `next + k` lands at sequence `lastSeq + k + 1`.
 */
export interface ResumePoint {
  readonly next: number
  readonly lastSeq: number
}

async function streamInfo(jsm: JetStreamManager, options: ResolvedRelayOptions): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(options.stream)
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.StreamNotFound) throw e
  }
  try {
    return await jsm.streams.add({ name: options.stream, subjects: [...options.streamSubjects] })
  } catch (e) {
    // JetStream refused the stream (its subjects overlap another's, limits...): no retry changes that.
    if (!(e instanceof JetStreamApiError)) throw e
    throw new ConfigError(`JetStream refused to create stream ${options.stream}: ${e.message}`, {
      cause: e,
      details: { stream: options.stream, subjects: options.streamSubjects },
    })
  }
}

/**
 * Reads the resume point from what JetStream holds, never from a local file: the event id in the
 * stream's last message. That message must be ours (our source, an event this database holds with
 * the same type and timestamp); anything else is refused rather than guessed past.
 */
export async function recoverResumePoint(
  jsm: JetStreamManager,
  db: Azoth,
  options: ResolvedRelayOptions,
): Promise<ResumePoint> {
  const info = await streamInfo(jsm, options)
  const lastSeq = info.state.last_seq
  // Empty: never written, or purged (or expired) to nothing. Either way nothing says what is there.
  if (info.state.messages === 0) return { next: options.from, lastSeq }
  const last = await jsm.streams.getMessage(options.stream, { seq: lastSeq })
  const where = { stream: options.stream, seq: lastSeq }
  if (last === null) {
    throw new ConfigError(
      `the last message of stream ${options.stream} (sequence ${lastSeq}) was deleted: the relay cannot tell where to resume`,
      { details: where },
    )
  }
  const source = last.header?.get(RELAY_HEADERS.source)
  const id = Number(last.header?.get(RELAY_HEADERS.eventId))
  if (source !== options.source || !Number.isSafeInteger(id) || id < 1) {
    throw new ConfigError(
      `stream ${options.stream} ends with a message that is not an event of source '${options.source}' (sequence ${lastSeq}): give each database a stream of its own`,
      { details: { ...where, source: source ?? null } },
    )
  }
  const head = db.head()
  if (id > head) {
    throw new CorruptionError(
      `stream ${options.stream} holds event ${id} of source '${options.source}' but the database ends at event ${head}: a different or rolled-back database`,
      { details: { ...where, eventId: id, head } },
    )
  }
  for (const event of db.events({ from: id, to: id })) {
    const type = decodeURIComponent(last.header?.get(RELAY_HEADERS.eventType) ?? '')
    const timestamp = Number(last.header?.get(RELAY_HEADERS.timestamp))
    if (event.type !== type || event.timestamp !== timestamp) {
      throw new ConfigError(
        `stream ${options.stream} holds event ${id} as '${type}' at ${timestamp}, the database as '${event.type}' at ${event.timestamp}: the stream belongs to another database`,
        { details: { ...where, eventId: id } },
      )
    }
  }
  return { next: id + 1, lastSeq }
}

/** True for the relay's own verdicts, which no retry changes (an `IO` or `TIMEOUT` error is retried). */
export function isPermanent(e: unknown): e is AzothError {
  return e instanceof AzothError && e.code !== 'IO' && e.code !== 'TIMEOUT'
}
