/**
 * subscribe: following the event log live.
 *
 * `db.subscribe({ from })` is an async iterable: it delivers the stored events from `from`, then
 * each new commit as it lands (woken by the commit, no polling). `caughtUp` resolves once it has
 * reached the head; `close()` ends the `for await` loop. Without `from` it starts after the
 * current head (only new events). `db.events({ from, to, limit })` reads stored events lazily.
 * A subscription is in-process and keeps no cursor: use a projector for a durable read model.
 *
 * Run: pnpm example subscribe
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, type AzothEvent } from 'azothdb'

const dir = mkdtempSync(join(tmpdir(), 'azoth-subscribe-'))
try {
  const db = await Azoth.open(dir)
  for (let i = 1; i <= 3; i++)
    await db
      .writeBatch()
      .appendEvent('chat', { user: 'ada', text: `message ${i}` })
      .commit()

  // Stored events, read directly.
  console.log('stored:', [...db.events({ from: 2, limit: 2 })].map((e) => `${e.id}:${e.type}`).join(' '))

  // A feed from event 1: replays the three stored messages, then follows new ones.
  const feed = db.subscribe({ from: 1 })
  const onlyNew = db.subscribe() // from the next event on
  feed.caughtUp.then((head) => console.log(`feed caught up at event ${head}, now live`))

  const received: AzothEvent[] = []
  const following = (async () => {
    for await (const event of feed) {
      const { user, text } = event.payload as { user: string; text: string }
      console.log(`  #${event.id} ${new Date(event.timestamp).toISOString()} ${user}: ${text}`)
      received.push(event)
      if (event.type === 'chat-closed') feed.close()
    }
  })()
  const newOnes: number[] = []
  const followingNew = (async () => {
    for await (const event of onlyNew) {
      newOnes.push(event.id)
      if (event.type === 'chat-closed') onlyNew.close()
    }
  })()

  await feed.caughtUp
  for (const text of ['hello', 'anyone there?']) {
    await db.writeBatch().appendEvent('chat', { user: 'grace', text }).commit()
  }
  await db.writeBatch().appendEvent('chat-closed', { user: 'system', text: 'bye' }).commit()
  await Promise.all([following, followingNew])

  console.log(
    `feed from 1 received ${received.length} events; feed of new events received ids ${newOnes.join(',')}`,
  )
  if (received.length !== 6 || newOnes.join() !== '4,5,6') throw new Error('events were missed')
  await db.close()
  console.log('ok: subscribe')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
