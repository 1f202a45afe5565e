import { ConfigError, type Role, type RoleOptions } from '@natkit/config'
import { NatkitEvents, createPrinter } from '@natkit/events'
import { NatkitRole } from '@natkit/node'
import { enable } from '@libp2p/logger'
import { HelpShown, UsageError } from './args.js'

/** Human output per --log-level: which events are left out (JSON output always has every event). */
export function quietEvents (level: RoleOptions<Role>['logLevel']): string[] {
  const chatty = ['ping', 'info', 'peer:connect', 'peer:disconnect', 'listening', 'relay:circuit', 'relay:circuit:closed', 'relay:reservation', 'holepunch:attempt']
  switch (level) {
    case 'debug': return []
    case 'info': return ['ping']
    case 'warn': return chatty
    case 'error': return [...chatty, 'warn', 'reservation', 'reservation:failed', 'relay:reservation:refused', 'holepunch:success', 'holepunch:failure', 'reachability', 'dial:result']
  }
}

/** Exit status for bad flags, config or input. */
export const EXIT_USAGE = 2
/** How long shutdown may take before the process exits anyway. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000

const USER_ERRORS = new Set(['UsageError', 'ConfigError', 'IdentityPermissionError', 'InvalidKeyFileError', 'IdentityPathError', 'DialTargetError', 'NoCandidateAddressesError', 'RelayAddressError', 'MetricsListenError', 'InvalidMultiaddrError'])

/**
 * Prints an error as one line. User errors never show a stack; unexpected
 * ones show it only with DEBUG set. Returns the exit code to use.
 */
export function reportFatal (name: string, err: unknown): number {
  if (err instanceof HelpShown) {
    process.stdout.write(err.text)
    return 0
  }
  const e = err as Error
  if (err instanceof UsageError || err instanceof ConfigError || USER_ERRORS.has(e?.name)) {
    process.stderr.write(`${name}: ${e.message}\n`)
    return EXIT_USAGE
  }
  process.stderr.write(`${name}: ${e?.message ?? String(err)}\n`)
  if (process.env.DEBUG != null) process.stderr.write(`${e?.stack ?? ''}\n`)
  return 1
}

export interface RunInit<R extends Role> {
  name: string
  options: RoleOptions<R>
  /** autonat role: run the AutoNAT v2 server (off for `check`). @default true */
  autonatServer?: boolean
  /** Work to do once started; resolve with an exit code to stop, or never to run until a signal. */
  main?: (role: NatkitRole<R>) => Promise<number>
}

/** Starts a role, prints its events, stops gracefully on SIGINT/SIGTERM. Resolves with the exit code. */
export async function runRole<R extends Role> (init: RunInit<R>): Promise<number> {
  const o = init.options as RoleOptions<Role>
  const events = new NatkitEvents()
  createPrinter(events, { json: o.json, out: process.stdout, quiet: quietEvents(o.logLevel) })
  // debug also turns on natkit's own debug logs (stderr) unless DEBUG already chooses
  if (o.logLevel === 'debug' && process.env.DEBUG == null) enable('natkit:*')
  const role = await NatkitRole.create(init.options, events, { autonatServer: init.autonatServer })
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
