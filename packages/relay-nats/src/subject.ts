import { AzothError, type AzothEvent, streamCategory } from 'azothdb'

// Characters a NATS subject token cannot hold: the token separator, the wildcards, whitespace and
// control characters (the protocol splits on whitespace).
const FORBIDDEN = /[.*>\s\p{Cc}]/gu

/** Turns any string into one subject token: forbidden characters become `_`, and an empty one is `_`. */
export function subjectToken(s: string): string {
  const token = s.replace(FORBIDDEN, '_')
  return token === '' ? '_' : token
}

/**
 * The default subject of an event: `<prefix>.<category>.<type>` (prefix `azoth` unless the
 * `subjectPrefix` option says otherwise), the category being the part of the
 * stream name before its first `-` (`_` for an event outside any stream), both made into single
 * tokens by {@link subjectToken}. The headers carry the exact type and stream.
 */
export function defaultSubject(event: AzothEvent, prefix = 'azoth'): string {
  const category = event.stream === undefined ? '_' : streamCategory(event.stream.name)
  return `${prefix}.${subjectToken(category)}.${subjectToken(event.type)}`
}

/** Refuses (`INVALID_ARGUMENT`) a subject a publish cannot use: empty tokens, wildcards, whitespace. */
export function checkSubject(subject: unknown, eventId: number): string {
  if (
    typeof subject !== 'string' ||
    subject === '' ||
    subject.split('.').some((t) => t === '' || t === '*' || t === '>' || /[\s\p{Cc}]/u.test(t))
  ) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `the subject function gave ${typeof subject === 'string' ? `'${subject}'` : typeof subject} for event ${eventId}: not a subject a message can be published to`,
      { details: { eventId, subject: typeof subject === 'string' ? subject : typeof subject } },
    )
  }
  return subject
}
