import { ConfigError, type Logger, silentLogger } from '@azothdb/core'
import {
  checkInteger,
  checkKnownFields,
  type FileSystem,
  fileSystemOf,
  nodeFileSystem,
} from '@azothdb/core/internal'

/** Options of {@link openFileEventLog}. */
export interface FileEventLogOptions {
  /** Open without the writer lock and never modify the directory (default false). */
  readonly readOnly?: boolean
  /** A segment is closed and a new one started once it would grow past this (default 512 MiB). */
  readonly segmentBytes?: number
  /** Appends are gathered in a buffer of this size and written in one call (default 1 MiB). */
  readonly writeBufferBytes?: number
  /** Size of the sequential reads of iteration and open-time scans (default 1 MiB). */
  readonly readChunkBytes?: number
  /** One sparse-index entry per this many record bytes: memory against `get` cost (default 4 KiB). */
  readonly indexIntervalBytes?: number
  /** Sealed segments kept open for reading at a time; others are reopened on demand (default 64). */
  readonly maxOpenSegments?: number
  /** Largest record accepted by `append` (default 64 MiB, at most 2 GiB - 1). */
  readonly maxRecordBytes?: number
  /**
   * Read and check the chunks of long sequential reads ahead on a worker thread, when the machine
   * has more than one core (default true). Reads return the same records either way.
   */
  readonly backgroundChecksums?: boolean
  /**
   * Ids up to this one are known to be committed (e.g. the head a database recorded): an open that
   * finds the log ending earlier raises `CORRUPTION` and repairs nothing (default 0).
   */
  readonly committedHead?: number
  /** Where recoveries and background failures are reported (default: silent). */
  readonly logger?: Logger
}

/** Options with every default filled in. */
export interface ResolvedFileEventLogOptions {
  readonly readOnly: boolean
  readonly segmentBytes: number
  readonly writeBufferBytes: number
  readonly readChunkBytes: number
  readonly indexIntervalBytes: number
  readonly maxRecordBytes: number
  readonly maxOpenSegments: number
  readonly backgroundChecksums: boolean
  readonly committedHead: number
  readonly logger: Logger
  /** What the log changes its files with: node:fs, or a test's (core's internal FILE_SYSTEM key). */
  readonly fs: FileSystem
}

const MiB = 1024 * 1024
const KNOWN = [
  'readOnly',
  'segmentBytes',
  'writeBufferBytes',
  'readChunkBytes',
  'indexIntervalBytes',
  'maxRecordBytes',
  'maxOpenSegments',
  'backgroundChecksums',
  'committedHead',
  'logger',
]

/** Checks `options` (`CONFIG` naming the field) and fills in defaults. */
export function resolveOptions(options: FileEventLogOptions = {}): ResolvedFileEventLogOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('file event log options must be an object', { details: { field: 'options' } })
  }
  checkKnownFields('the file event log', options, KNOWN)
  const readOnly = options.readOnly ?? false
  if (typeof readOnly !== 'boolean') {
    throw new ConfigError('readOnly must be a boolean', { details: { field: 'readOnly', value: readOnly } })
  }
  const backgroundChecksums = options.backgroundChecksums ?? true
  if (typeof backgroundChecksums !== 'boolean') {
    throw new ConfigError('backgroundChecksums must be a boolean', {
      details: { field: 'backgroundChecksums', value: backgroundChecksums },
    })
  }
  const logger = options.logger ?? silentLogger
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw new ConfigError('logger must be a pino-like logger', { details: { field: 'logger' } })
  }
  return {
    readOnly,
    segmentBytes: checkInteger('segmentBytes', options.segmentBytes ?? 512 * MiB, 64),
    writeBufferBytes: checkInteger('writeBufferBytes', options.writeBufferBytes ?? MiB, 64, 1024 * MiB),
    readChunkBytes: checkInteger('readChunkBytes', options.readChunkBytes ?? MiB, 64, 1024 * MiB),
    indexIntervalBytes: checkInteger('indexIntervalBytes', options.indexIntervalBytes ?? 4096, 1),
    maxRecordBytes: checkInteger('maxRecordBytes', options.maxRecordBytes ?? 64 * MiB, 0, 2 ** 31 - 1),
    maxOpenSegments: checkInteger('maxOpenSegments', options.maxOpenSegments ?? 64, 1, 1_000_000),
    backgroundChecksums,
    committedHead: checkInteger('committedHead', options.committedHead ?? 0, 0, Number.MAX_SAFE_INTEGER),
    logger,
    fs: fileSystemOf(options) ?? nodeFileSystem,
  }
}
