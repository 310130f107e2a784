export { crc32c } from './crc32c.js'
export { FileEventLog, type FileEventLogStats } from './file-event-log.js'
// Internal (marked so): exported only so the API reference can drop it from `FileEventLog implements`.
export type { SegmentDirectory } from './log-iterator.js'
export { openFileEventLog } from './open-file-event-log.js'
export type { FileEventLogOptions } from './options.js'
