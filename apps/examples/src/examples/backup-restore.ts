/**
 * backup-restore: a verified backup of a live database, and a restore from it.
 *
 * `db.backupTo(dir)` pauses ingestion (commits wait, they do not fail), lets projectors catch up
 * to the sealed head, copies the LMDB state and events, the file log (if any) and the SQLite
 * projection consistently, and writes `manifest.json` with the sealed event id, projector cursors,
 * a SHA-256 of every file and a digest of the whole state; then ingestion resumes.
 * `Azoth.restoreFrom(backup, target)` verifies every checksum, refuses a damaged backup with
 * `CORRUPTION`, restores, checks the state digest and returns a database open for writes.
 *
 * Also the pieces around a backup: `Azoth.openReadOnly(dir)` inspects the live database while the
 * writer runs (writes raise `READ_ONLY`); `pauseIngestion()`/`resumeIngestion()` hold commits for
 * a copy taken by other means; `seal()`/`unseal()` refuse commits with `SEALED` instead.
 *
 * Run: pnpm example backup-restore
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Azoth, isAzothError, TypedValue } from 'azothdb'

const root = mkdtempSync(join(tmpdir(), 'azoth-backup-restore-'))
try {
  const liveDir = join(root, 'live')
  const db = await Azoth.open(liveDir)
  await db.migrate([
    {
      version: 1,
      name: 'scores',
      up: (tx) => tx.exec('CREATE TABLE scores (player TEXT PRIMARY KEY, score INTEGER)'),
    },
  ])
  const projector = db.projector({
    name: 'scores',
    handlers: [
      {
        eventTypes: ['scored'],
        handle(event, tx) {
          const { player, points } = event.payload as { player: string; points: number }
          tx.run(
            'INSERT INTO scores VALUES (?, ?) ON CONFLICT (player) DO UPDATE SET score = score + excluded.score',
            [player, points],
          )
        },
      },
    ],
  })
  const score = (player: string, points: number) =>
    db
      .transaction()
      .keys([`score/${player}`])
      .execute((tx) => {
        tx.update(`score/${player}`, (v) => TypedValue.i64((v?.asI64() ?? 0n) + BigInt(points)))
        tx.log('scored', { player, points })
      })
  for (let round = 0; round < 50; round++) await Promise.all([score('ada', 3), score('grace', 5)])

  // The projector has not run yet: the backup makes it catch up to the sealed head first.
  const backupDir = join(root, 'backup')
  const manifest = await db.backupTo(backupDir)
  console.log(
    `backup sealed at event ${manifest.sealedEventId}, cursors ${JSON.stringify(manifest.projectorCursors)}`,
  )
  for (const file of manifest.files)
    console.log(`  ${file.path} (${file.bytes} bytes, sha256 ${file.sha256.slice(0, 12)}…)`)

  // An inspection reader (a dashboard, a support shell; usually another process) opens the
  // directory while the writer runs, and follows what it commits.
  const reader = await Azoth.openReadOnly(liveDir)
  const readerHeadBefore = reader.head()

  // The live database keeps going after the backup.
  await score('ada', 100)
  console.log(`live head ${db.head()}, ada ${db.get('score/ada').asI64()}`)
  await projector.runOnce()
  const [projected] = await reader.query<{ score: number }>("SELECT score FROM scores WHERE player = 'ada'")
  try {
    await reader.writeBatch().put('score/ada', 0n).commit()
    throw new Error('a read-only database accepted a write')
  } catch (e) {
    if (!isAzothError(e, 'READ_ONLY')) throw e
    console.log(
      `read-only reader: head ${readerHeadBefore} → ${reader.head()}, ada ${reader.get('score/ada').asI64()}, ` +
        `projected ada ${projected?.score}; its write failed with ${e.code}`,
    )
  }
  await reader.close()

  // A copy taken by other means (a filesystem snapshot) needs a quiet moment: pauseIngestion waits
  // for in-flight commits, then holds new ones; they wait rather than fail.
  const pausedAt = await db.pauseIngestion()
  let landed = false
  const held = score('grace', 1).then(() => {
    landed = true
  })
  await sleep(100)
  console.log(`paused at event ${pausedAt}: commit held (landed ${landed}, head ${db.head()})`)
  db.resumeIngestion()
  await held
  console.log(`resumed: the held commit landed, head ${db.head()}`)

  // For maintenance where callers should fail fast instead of waiting: seal.
  const sealedAt = await db.seal()
  try {
    await score('grace', 1)
    throw new Error('a sealed database accepted a commit')
  } catch (e) {
    if (!isAzothError(e, 'SEALED')) throw e
    console.log(`sealed at event ${sealedAt}: a commit was refused with ${e.code}, head ${db.head()}`)
  }
  db.unseal()
  await db.close()

  // A damaged copy of the backup is refused before anything is restored.
  const damaged = join(root, 'damaged')
  cpSync(backupDir, damaged, { recursive: true })
  const dataFile = manifest.files.find((f) => f.path.endsWith('data.mdb')) ?? manifest.files[0]!
  const victim = join(damaged, dataFile.path)
  const bytes = readFileSync(victim)
  bytes[bytes.length >> 1]! ^= 0xff
  writeFileSync(victim, bytes)
  try {
    await Azoth.restoreFrom(damaged, join(root, 'restored-from-damaged'))
    throw new Error('a damaged backup was restored')
  } catch (e) {
    if (!isAzothError(e, 'CORRUPTION')) throw e
    console.log(`damaged backup refused: ${e.code}`)
  }

  // Restore: state, events and projection as they were at the seal.
  const restored = await Azoth.restoreFrom(backupDir, join(root, 'restored'))
  const rows = await restored.query<{ player: string; score: number }>('SELECT * FROM scores ORDER BY player')
  console.log(`restored head ${restored.head()}, ada ${restored.get('score/ada').asI64()}, projection`, rows)
  if (restored.head() !== manifest.sealedEventId || restored.stateDigest() !== manifest.stateDigest)
    throw new Error('the restore does not match the backup')

  // The restored database is open for writes.
  await restored
    .transaction()
    .keys(['score/ada'])
    .execute((tx) => tx.set('score/ada', 0n))
  console.log(`restored database accepts writes: ada ${restored.get('score/ada').asI64()}`)
  await restored.close()
  console.log('ok: backup-restore')
} finally {
  rmSync(root, { recursive: true, force: true })
}
