// Child process of the fault tests: projects `total` deterministic deposits into PostgreSQL.
// argv: <connection string> <total events> <max events per batch> <'run' | 'locked'> [gate: event id]
// 'run': one runOnce to the head. 'locked': waits for the projector lock (printing 'waiting'), then
// prints 'locked' and applies until caught up. Prints 'started' before the first batch, 'done' at
// the end. The parent SIGKILLs it at any moment; the `applied` table's primary key turns a second
// application of an event into a failure, and its pid column shows who applied what.
import type { AzothEvent, EventHandler } from '@azothdb/core'
import { PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import { Projector } from '@azothdb/projector'
import { depositSource, FAULT_DDL } from './deposits.js'

const [url, total, maxEvents, mode, gateArg] = [
  process.argv[2]!,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5],
  process.argv[6],
]
// With a gate: each event past it waits for one 'g' on stdin, so the parent decides how far the
// run gets (and kills it inside a batch whose transaction is open) whatever the machine's speed.
const gateFrom = gateArg === undefined ? Number.POSITIVE_INFINITY : Number(gateArg)
let tokens = 0
let wake: (() => void) | undefined
if (gateArg !== undefined) {
  process.stdin.on('data', (d: Buffer) => {
    tokens += d.toString().split('g').length - 1
    wake?.()
  })
}
async function passGate(id: number): Promise<void> {
  if (id <= gateFrom) return
  while (tokens === 0) await new Promise<void>((resolve) => (wake = resolve))
  tokens--
}
const store = await PostgresProjectionStore.open({ connectionString: url })
await store.transaction((tx) => tx.exec(FAULT_DDL))
const handler: EventHandler<PostgresTx> = {
  eventTypes: ['Deposited'],
  async handle(event: AzothEvent, tx: PostgresTx) {
    await passGate(event.id)
    const p = event.payload as { account: string; amount: number }
    await tx.run('INSERT INTO applied (event_id, pid) VALUES ($1, $2)', [event.id, process.pid])
    await tx.run(
      'INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1) ON CONFLICT (account) DO UPDATE ' +
        'SET amount = balances.amount + excluded.amount, events = balances.events + 1',
      [p.account, p.amount],
    )
  },
}
const projector = Projector.builder(depositSource(total), store)
  .withName('balances')
  .withHandler(handler)
  .withBatch({ maxEvents })
  .withHandlerTimeout(600_000)
  .build()
if (mode === 'locked') {
  process.stdout.write('waiting\n')
  const lock = await store.lockProjector('balances', { checkIntervalMs: 100 })
  process.stdout.write('locked\n')
  process.stdout.write('started\n')
  // Small steps, so a kill lands between and inside batches.
  while (projector.position < total && !lock.signal.aborted) await projector.runOnce({ signal: lock.signal })
} else {
  process.stdout.write('started\n')
  await projector.runOnce()
}
await store.close()
process.stdout.write('done\n')
