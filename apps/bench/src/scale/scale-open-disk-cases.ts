import { readdirSync, rmSync } from 'node:fs'
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

/**
 * How the file log's active segment is found after the kill: with the index sidecar its last clean
 * close wrote (the open scans only what was appended since), or without one, as after a writer
 * that ran for long since its last open or rotation: the open then scans the whole active segment
 * (at most `segmentBytes`, 512 MiB by default), which bounds recovery by configuration.
 */
export type ActiveSegment = 'indexed' | 'unindexed'

export function openSigkillCase(
  s: ScaleSize,
  eventLog: 'lmdb' | 'file',
  last: boolean,
  activeSegment: ActiveSegment = 'indexed',
): Case {
  const { fixture: f, n } = s
  const dir = eventLog === 'lmdb' ? f.oursDir : f.fileDir
  const close = () => (eventLog === 'lmdb' ? f.closeDb() : f.closeFileDb())
  const open = () => (eventLog === 'lmdb' ? f.db() : f.fileDb())
  const unindexed = activeSegment === 'unindexed'
  return {
    name: `open-sigkill: Azoth.open after a writer was SIGKILLed mid-load (${eventLog} log${unindexed ? ', active segment without its index sidecar' : ''}), ${sizeLabel(n)}`,
    unit: 'opens',
    params: params(s, 'open-sigkill', {
      eventLog,
      opensPerRun: 1,
      writer: `${CALLERS} callers committing, sync`,
      ...(eventLog === 'file' ? { activeSegment } : {}),
    }),
    ours: {
      setup: () => f.build(),
      ...openMeasure(async () => {
        await close()
        await killWriterMidLoad(dir, n)
        if (unindexed) removeActiveSidecar(join(dir, 'events'))
      }, open),
      // The section's last case at this size: its data goes, so the next size has the disk.
      ...(last ? { teardown: () => f.dispose() } : {}),
    },
    target: { minOpsPerSec: 0.2 },
    showsMemory: true,
  }
}

/** Removes the index sidecar of the file log's last segment (segment files are named by first id). */
function removeActiveSidecar(eventsDir: string): void {
  const active = readdirSync(eventsDir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .at(-1)
  if (active !== undefined) rmSync(join(eventsDir, active.replace(/\.seg$/, '.idx')), { force: true })
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
