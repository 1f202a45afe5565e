import { NatkitEvents, createPrinter, isUserError } from '@natkit/events'
import { HelpShown } from './args.js'
import type { CommonOptions } from '@natkit/config'

/** Human output per --log-level: which events are left out (JSON output always has every event). */
export function quietEvents (level: CommonOptions['logLevel']): string[] {
  const chatty = ['ping', 'info', 'peer:connect', 'peer:disconnect', 'listening', 'relay:circuit', 'relay:circuit:closed', 'relay:reservation', 'holepunch:attempt', 'holepunch:retry']
  switch (level) {
    case 'debug': return []
    case 'info': return ['ping']
    case 'warn': return chatty
    case 'error': return [...chatty, 'warn', 'reservation', 'reservation:failed', 'relay:reservation:refused', 'holepunch:success', 'holepunch:failure', 'relayed:expiring', 'reachability', 'dial:result']
  }
}

/** Exit status for bad flags, config or input. */
export const EXIT_USAGE = 2
/** How long shutdown may take before the process exits anyway. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000

/**
 * Prints an error as one line. User errors (classes marked with
 * `USER_ERROR` from @natkit/events, e.g. extending `UserError`) never show a stack and exit with {@link EXIT_USAGE}; unexpected
 * ones show it only with DEBUG set. Returns the exit code to use.
 */
export function reportFatal (name: string, err: unknown): number {
  if (err instanceof HelpShown) {
    process.stdout.write(err.text)
    return 0
  }
  const e = err as Error
  if (isUserError(err)) {
    process.stderr.write(`${name}: ${e.message}\n`)
    return EXIT_USAGE
  }
  process.stderr.write(`${name}: ${e?.message ?? String(err)}\n`)
  if (process.env.DEBUG != null) process.stderr.write(`${e?.stack ?? ''}\n`)
  return 1
}

/** What `runRole` runs: a role's node, created by its app (e.g. `@natkit/node`'s `NatkitRunner`). */
export interface RunnableRole {
  start(): Promise<void>
  stop(): Promise<void>
}

export interface RunInit<T extends RunnableRole> {
  name: string
  /** The output options (`--json`, `--log-level`) */
  options: Pick<CommonOptions, 'json' | 'logLevel'>
  /** The app's composition: builds the role (not started) with its events going to `events`. */
  create: (events: NatkitEvents) => Promise<T>
  /** Where events are printed. @default process.stdout */
  out?: { write: (s: string) => unknown }
  /** Work to do once started; resolve with an exit code to stop, or never to run until a signal. */
  main?: (role: T) => Promise<number>
}

/** Creates and starts a role, prints its events, stops gracefully on SIGINT/SIGTERM. Resolves with the exit code. */
export async function runRole<T extends RunnableRole> (init: RunInit<T>): Promise<number> {
  const o = init.options
  const events = new NatkitEvents()
  createPrinter(events, { json: o.json, out: init.out ?? process.stdout, quiet: quietEvents(o.logLevel) })
  // debug also turns on natkit's own debug logs (stderr) unless DEBUG already chooses
  // (loaded here, not at the top: --help and usage errors load no libp2p code)
  if (o.logLevel === 'debug' && process.env.DEBUG == null) (await import('@libp2p/logger')).enable('natkit:*')
  const role = await init.create(events)
  let stopping: Promise<number> | undefined
  const stop = async (code: number): Promise<number> => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        process.stderr.write(`${init.name}: shutdown took longer than ${DEFAULT_SHUTDOWN_TIMEOUT} ms, exiting\n`)
        process.exit(code)
      }, DEFAULT_SHUTDOWN_TIMEOUT)
      timer.unref()
      try {
        await role.stop()
      } finally {
        clearTimeout(timer)
      }
      return code
    })()
    return await stopping
  }
  const { promise: signalled, resolve } = Promise.withResolvers<number>()
  const onSignal = (sig: NodeJS.Signals): void => {
    events.emit('info', { message: `${sig} received, shutting down` })
    resolve(0)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await role.start()
    const code = await Promise.race([signalled, init.main != null ? init.main(role) : new Promise<number>(() => {})])
    return await stop(code)
  } catch (err) {
    await stop(1).catch(() => {})
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
