/** Events per projector batch: Azoth's projector default, and the batch the peers' consumers are given. */
export const CATCH_UP_BATCH = 1_000

/** Events per `readMessagesBatch` call of the peers' global read. */
export const READ_BATCH = 1_000
