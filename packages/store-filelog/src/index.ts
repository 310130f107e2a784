export { crc32c } from '@azothdb/core/internal'
export type { FileEventLog, FileEventLogStats } from './file-event-log.js'
export { openFileEventLog } from './open-file-event-log.js'
export type { FileEventLogOptions } from './options.js'
