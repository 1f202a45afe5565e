import { mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.js'

// Lab test files build namespaces, NAT routers and many processes: one file at a
// time on a 2-core machine, and "nothing left behind" checks must not see
// another file's lab.
export default mergeConfig(shared, { test: { fileParallelism: false, testTimeout: 120_000, hookTimeout: 60_000 } })
