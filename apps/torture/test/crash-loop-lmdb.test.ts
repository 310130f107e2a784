import { crashLoopTest } from './support/crash-loop-test.js'

crashLoopTest('lmdb')
