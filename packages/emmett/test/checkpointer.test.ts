import { azothCheckpointer, getAzothEventStore } from '@azothdb/emmett'
import type { RecordedMessage } from '@event-driven-io/emmett'
import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const at = (globalPosition: bigint) =>
  ({
    type: 'ItemAdded',
    data: {},
    kind: 'Event',
    metadata: {
      streamName: 'cart-1',
      streamPosition: globalPosition,
      globalPosition,
      messageId: String(globalPosition),
    },
  }) as unknown as RecordedMessage<{ type: 'ItemAdded'; data: Record<string, never> }, never>

describe('azothCheckpointer() outside a consumer', () => {
  it("stores durably with Emmett's compare-and-set answers", async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir)
      const context = { db, eventStore: getAzothEventStore(db) }
      const checkpoints = azothCheckpointer()
      const options = { processorId: 'p/1', partition: 'tenant a', version: 2 }
      expect(await checkpoints.read(options, context)).toEqual({ lastCheckpoint: null })
      const store = (position: bigint, lastCheckpoint: bigint | null) =>
        checkpoints.store({ ...options, message: at(position), lastCheckpoint }, context)
      expect(await store(3n, null)).toEqual({ success: true, newCheckpoint: 3n })
      expect(await store(3n, 3n)).toEqual({ success: false, reason: 'IGNORED' })
      expect(await store(5n, 2n)).toEqual({ success: false, reason: 'MISMATCH' })
      expect(await store(2n, 1n)).toEqual({ success: false, reason: 'CURRENT_AHEAD' })
      expect(await store(5n, 3n)).toEqual({ success: true, newCheckpoint: 5n })
    }
    await using db = await Azoth.open(dir)
    expect(
      await azothCheckpointer().read({ processorId: 'p/1', partition: 'tenant a' }, { db } as never),
    ).toEqual({
      lastCheckpoint: 5n,
    })
    expect(db.get('emmett/checkpoint/tenant%20a/p%2F1').asJson()).toEqual({ checkpoint: 5n, version: 2 })
  })

  it('a context without a database is INVALID_ARGUMENT; a damaged checkpoint is CORRUPTION', async () => {
    await using db = await Azoth.open(tempDir())
    const checkpoints = azothCheckpointer()
    await expectCode(checkpoints.read({ processorId: 'p' }, {} as never), 'INVALID_ARGUMENT')
    await db.writeBatch().put('emmett/checkpoint/emt%3Adefault/p', 'not a checkpoint').commit()
    await expectCode(checkpoints.read({ processorId: 'p' }, { db } as never), 'CORRUPTION')
  })
})
