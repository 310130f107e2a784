// A relay process for the crash tests: opens the database, commits events in small transactions
// while the relay ships them, and prints the relay's metrics every few milliseconds so the parent
// can SIGKILL it mid-batch. Exits 0 once `target` events are committed and all of them acknowledged.
// argv: <db dir> <nats url> <stream> <subject prefix> <target>
import { startNatsRelay } from '@azothdb/relay-nats'
import { Azoth, silentLogger } from 'azothdb'

const [dir, url, stream, subjectPrefix, targetArg] = process.argv.slice(2)
const target = Number(targetArg)
const db = await Azoth.open(dir!, { logger: silentLogger })
const relay = startNatsRelay(db, {
  servers: url!,
  stream: stream!,
  subjectPrefix: subjectPrefix!,
  maxInFlight: 32,
  batchSize: 16,
  logger: silentLogger,
})
const report = setInterval(() => console.log(JSON.stringify(relay.metrics())), 2)
while (db.head() < target) {
  const from = db.head() + 1
  await db.transaction().execute((tx) => {
    for (let i = from; i < from + 10 && i <= target; i++) tx.log('Ticked', { i })
  })
}
while (relay.metrics().lastAckedId < target) await new Promise((r) => setTimeout(r, 5))
clearInterval(report)
await relay.stop()
await db.close()
console.log('done')
