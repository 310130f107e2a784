import { join } from 'node:path'
import { open } from 'lmdb'
import type { Case, Measure } from '../harness.js'
import { killWriterMidLoad } from './killed-writer.js'
import { CALLERS, params, type ScaleSize } from './scale-cases.js'
import { diskBytes, sizeLabel } from './scale-data.js'

/** One open per run, after `prepare` closed (and possibly crashed) what the previous run opened. */
function openMeasure(prepare: () => Promise<void>, open: () => Promise<unknown>): Measure {
  return {
    prepare,
    run: async () => {
      await open()
      return 1
    },
  }
}

export function openCleanCase(s: ScaleSize): Case {
  const { fixture: f, n } = s
  return {
    name: `open-clean: Azoth.open after a clean close, ${sizeLabel(n)} keys and events`,
    unit: 'opens',
    params: params(s, 'open-clean', { opensPerRun: 1, raw: 'lmdb-js open() + 2 openDB' }),
    ours: {
      setup: () => f.build(),
      ...openMeasure(
        () => f.closeDb(),
        () => f.db(),
      ),
    },
    raw: {
      setup: () => f.build(),
      ...openMeasure(
        () => f.closeRaw(),
        () => f.raw(),
      ),
    },
    target: { minOpsPerSec: 1 },
    showsMemory: true,
  }
}

export function openSigkillCase(s: ScaleSize, eventLog: 'lmdb' | 'file', last: boolean): Case {
  const { fixture: f, n } = s
  const dir = eventLog === 'lmdb' ? f.oursDir : f.fileDir
  const close = () => (eventLog === 'lmdb' ? f.closeDb() : f.closeFileDb())
  const open = () => (eventLog === 'lmdb' ? f.db() : f.fileDb())
  return {
    name: `open-sigkill: Azoth.open after a writer was SIGKILLed mid-load (${eventLog} log), ${sizeLabel(n)}`,
    unit: 'opens',
    params: params(s, 'open-sigkill', {
      eventLog,
      opensPerRun: 1,
      writer: `${CALLERS} callers committing, sync`,
    }),
    ours: {
      setup: () => f.build(),
      ...openMeasure(async () => {
        await close()
        await killWriterMidLoad(dir, n)
      }, open),
      // The section's last case at this size: its data goes, so the next size has the disk.
      ...(last ? { teardown: () => f.dispose() } : {}),
    },
    target: { minOpsPerSec: 0.2 },
    showsMemory: true,
  }
}

/**
 * The bytes of `path` on disk, and of those the pages LMDB has in use in `lmdbFile` (the rest of
 * its file is free pages and the space store-lmdb allocates ahead of a commit, about twice the
 * largest group, so that a full disk fails before LMDB writes).
 */
function diskMeasure(path: string, lmdbFile: string, n: number, setup: () => Promise<void>): Measure {
  let bytes = 0
  return {
    setup,
    run: () => {
      bytes = diskBytes(path)
      return bytes
    },
    report: () => {
      const used = lmdbUsedBytes(lmdbFile)
      return {
        bytes,
        bytesPerEvent: Math.round(bytes / n),
        lmdbUsedBytes: used,
        lmdbUsedPerEvent: Math.round(used / n),
      }
    },
  }
}

function lmdbUsedBytes(file: string): number {
  const env = open({ path: file, readOnly: true })
  try {
    const stats = env.getStats() as { pageSize: number; lastPageNumber: number }
    return (stats.lastPageNumber + 1) * stats.pageSize
  } finally {
    void env.close()
  }
}

export function diskBytesCase(s: ScaleSize, eventLog: 'lmdb' | 'file'): Case {
  const { fixture: f, n } = s
  const dir = eventLog === 'lmdb' ? f.oursDir : f.fileDir
  return {
    name: `disk-bytes: database directory with ${sizeLabel(n)} keys and events (${eventLog} log)`,
    unit: 'bytes',
    params: params(s, 'disk-bytes', {
      eventLog,
      figure: 'bytes = the units of each run (allocated blocks); units/s means nothing here',
      raw: 'lmdb-js env with the same keys (cbor values) and event envelopes',
    }),
    ours: diskMeasure(dir, join(dir, 'canonical', 'data.mdb'), n, () => f.build()),
    raw: diskMeasure(f.rawPath, f.rawPath, n, () => f.build()),
    showsMemory: true,
  }
}
