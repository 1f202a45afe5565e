/**
 * libp2p's default component logger (`@libp2p/logger` `defaultLogger`) builds
 * two `debug` instances for every component, connection and stream it is asked
 * for (and weald asks the tty whether to colour each), whether or not DEBUG
 * enables them: a relay holding 10,000 reservations keeps tens of thousands of
 * them alive and paid `isatty` + `createDebug` on each new connection and
 * stream (1.1 % of its CPU, docs/upstream.md §10). This one hands out a small
 * no-op logger for a name DEBUG enables neither for messages nor for errors or
 * traces, and @libp2p/logger's own for the others, so `DEBUG=natkit:*,libp2p:*`
 * logs exactly as before.
 */
import { enabled, logger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

/** A component logger that is free for the names DEBUG leaves off (read when each logger is asked for). */
export function lazyComponentLogger (): ComponentLogger {
  const forComponent = (name: string): Logger => {
    if (enabled(name) || enabled(`${name}:error`) || enabled(`${name}:trace`)) return logger(name)
    return Object.assign((): void => {}, {
      enabled: false,
      error: noop,
      trace: noop,
      newScope: (scope: string): Logger => forComponent(`${name}:${scope}`)
    })
  }
  return { forComponent }
}
