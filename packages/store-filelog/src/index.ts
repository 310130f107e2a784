export { crc32c } from './crc32c.js'
export type { FileEventLog, FileEventLogStats } from './file-event-log.js'
export { openFileEventLog } from './open-file-event-log.js'
export type { FileEventLogOptions } from './options.js'
