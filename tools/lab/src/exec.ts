import { execFile, execFileSync } from 'node:child_process'

/** Upper bound for one administrative command (`ip`, `nft`, `sysctl`). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000
/** Upper bound for captured stdout/stderr of one administrative command. */
export const DEFAULT_COMMAND_MAX_BUFFER = 4 * 1024 * 1024

export class LabCommandError extends Error {
  override name = 'LabCommandError'
  readonly stderr: string

  constructor (message: string, stderr: string) {
    super(message)
    this.stderr = stderr
  }
}

export interface CommandOptions {
  /** Written to the command's stdin. */
  input?: string
  /** @default DEFAULT_COMMAND_TIMEOUT_MS */
  timeoutMs?: number
}

/** Runs a command to completion; resolves with stdout, rejects with LabCommandError. */
export async function command (cmd: string, args: string[], opts: CommandOptions = {}): Promise<string> {
  const timeout = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(cmd, args, { timeout, killSignal: 'SIGKILL', maxBuffer: DEFAULT_COMMAND_MAX_BUFFER, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) {
        const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed === true ? `timed out after ${timeout} ms` : String(stderr).trim() !== '' ? String(stderr).trim() : err.message
        reject(new LabCommandError(`${cmd} ${args.join(' ')}: ${why}`, String(stderr)))
        return
      }
      resolve(String(stdout))
    })
    if (opts.input != null) {
      child.stdin?.on('error', () => {})
      child.stdin?.end(opts.input)
    }
  })
}

/** Synchronous variant for `process.on('exit')` handlers; never throws, returns stdout or undefined. */
export function commandSync (cmd: string, args: string[], timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): string | undefined {
  try {
    return execFileSync(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: DEFAULT_COMMAND_MAX_BUFFER })
  } catch {
    return undefined
  }
}
