import { readFile } from 'node:fs/promises'
import { AzothError } from '@azothdb/core'
import type { BenchReport } from '../bench-report.js'

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = 1

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Checks that `text` is a bench report of {@link SCHEMA_VERSION} and returns it. Anything else
 * raises `INVALID_ARGUMENT` naming `where` and what is wrong (not JSON, not a report, another
 * schema version).
 */
export function parseReport(text: string, where: string): BenchReport {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new AzothError('INVALID_ARGUMENT', `${where} is not JSON: ${(e as Error).message}`, {
      cause: e,
      details: { file: where },
    })
  }
  if (
    !isObject(value) ||
    !Array.isArray(value['sections']) ||
    !isObject(value['machine']) ||
    !('schemaVersion' in value)
  ) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `${where} is not a bench report (no schemaVersion, machine, sections)`,
      {
        details: { file: where },
      },
    )
  }
  if (value['schemaVersion'] !== SCHEMA_VERSION) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `${where} is a bench report of schema version ${String(value['schemaVersion'])}; this tool reads version ${SCHEMA_VERSION}`,
      { details: { file: where, schemaVersion: value['schemaVersion'] } },
    )
  }
  return value as unknown as BenchReport
}

/** Reads and checks a saved report; a missing or unreadable file raises `NOT_FOUND`. */
export async function loadReport(path: string): Promise<BenchReport> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new AzothError('NOT_FOUND', `cannot read bench results ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { file: path },
    })
  }
  return parseReport(text, path)
}
