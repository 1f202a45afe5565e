/**
 * The shell loop: lines from a terminal (node:readline with history and tab
 * completion) or from a pipe (one command per line, `--json`), each parsed and
 * handed to the app's executor. Output written while the user types clears the
 * line, prints, and redraws the prompt with what was typed so far.
 */
import { createInterface, clearLine, cursorTo, type Interface } from 'node:readline'
import { CommandError, complete, parseCommand, type CompletionSource, type ShellCommand } from './commands.js'
import type { NatkitEvents } from '@natkit/events'

/** Lines of history kept by the interactive shell. @default 500 */
export const DEFAULT_HISTORY_SIZE = 500
/** Commands running in the background (e.g. `get`) at once; more are refused with `command:error`. @default 16 */
export const MAX_BACKGROUND_COMMANDS = 16
/** The interactive prompt. @default 'natkit> ' */
export const DEFAULT_PROMPT = 'natkit> '

export interface ShellInit {
  input: NodeJS.ReadableStream
  /** Where the interactive UI draws (prompt, echo); unused without `interactive`. */
  output?: NodeJS.WritableStream
  /** Draw a prompt with history and completion (a TTY); otherwise read one command per line. */
  interactive: boolean
  /** Where `command:error` goes (the app prints its events). */
  events: NatkitEvents
  /** Runs one command; its results are events. A rejection becomes `command:error`. */
  execute: (command: ShellCommand, signal: AbortSignal) => Promise<void>
  /** Commands that run in the background, so the next line is read at once (e.g. `get`). */
  background?: (command: ShellCommand) => boolean
  complete?: CompletionSource
  prompt?: string
  historySize?: number
}

/** Writes text above the line being typed: clear the line, print, redraw prompt and buffer. */
export interface LinePrinter {
  write: (text: string) => void
}

/** Output for the app's event printer: plain writes until an interactive shell attaches, then printed above the prompt. */
export class ShellOutput implements LinePrinter {
  #rl: Interface | undefined
  readonly #out: NodeJS.WritableStream
  constructor (out: NodeJS.WritableStream = process.stdout) { this.#out = out }

  attach (rl: Interface | undefined): void { this.#rl = rl }

  write (text: string): void {
    const rl = this.#rl
    if (rl == null) { this.#out.write(text); return }
    clearLine(this.#out, 0)
    cursorTo(this.#out, 0)
    this.#out.write(text)
    // redraws the prompt and the partly typed line, cursor kept
    rl.prompt(true)
  }
}

/**
 * Runs the shell until `quit` or the end of input, then waits for background
 * commands; resolves with exit status 0. `output` (a {@link ShellOutput}) is
 * attached to the interactive line so events print above it.
 */
export async function runShell (init: ShellInit, printer?: ShellOutput): Promise<number> {
  const rl = createInterface({
    input: init.input,
    ...(init.interactive
      ? { output: init.output ?? process.stdout, terminal: true, historySize: init.historySize ?? DEFAULT_HISTORY_SIZE, completer: (line: string) => complete(line, init.complete), prompt: init.prompt ?? DEFAULT_PROMPT }
      : { terminal: false })
  })
  const controller = new AbortController()
  const pending = new Set<Promise<void>>()
  const fail = (command: string, err: unknown): void => {
    init.events.emit('command:error', { command, message: (err as Error).message.split('\n')[0] })
  }
  const run = async (cmd: ShellCommand): Promise<void> => {
    try {
      await init.execute(cmd, controller.signal)
    } catch (err) {
      fail(cmd.command, err)
    }
  }
  if (init.interactive) {
    printer?.attach(rl)
    // Ctrl-C on the line: leave like `quit`
    rl.on('SIGINT', () => { rl.close() })
    rl.prompt()
  }
  try {
    for await (const line of rl) {
      let cmd: ShellCommand | undefined
      try {
        cmd = parseCommand(line)
      } catch (err) {
        fail(err instanceof CommandError ? err.command : '', err)
      }
      if (cmd?.command === 'quit') break
      if (cmd != null) {
        if (init.background?.(cmd) === true) {
          if (pending.size >= MAX_BACKGROUND_COMMANDS) {
            fail(cmd.command, new Error(`${MAX_BACKGROUND_COMMANDS} commands are already running; wait for one to finish`))
          } else {
            const p = run(cmd).finally(() => { pending.delete(p) })
            pending.add(p)
          }
        } else {
          await run(cmd)
        }
      }
      if (init.interactive) rl.prompt()
    }
  } finally {
    printer?.attach(undefined)
    rl.close()
  }
  await Promise.all(pending)
  return 0
}
