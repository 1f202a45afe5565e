/**
 * The peer shell's commands: one line in, one typed command out (pure, no I/O).
 */
import { UserError } from '@natkit/events'

/** Longest command line accepted, in characters. @default 8192 */
export const MAX_COMMAND_LINE_LENGTH = 8192
/** Longest topic name accepted, in characters. @default 256 */
export const MAX_TOPIC_LENGTH = 256

/** The shell's command words. */
export type CommandName = 'peers' | 'addrs' | 'nat' | 'dial' | 'ping' | 'topics' | 'join' | 'leave' | 'say' | 'send' | 'share' | 'files' | 'get' | 'help' | 'quit'

/** One parsed shell command. */
export type ShellCommand =
  | { command: 'peers' }
  | { command: 'addrs' }
  | { command: 'nat' }
  | { command: 'dial', target: string }
  | { command: 'ping', peer: string }
  | { command: 'topics' }
  | { command: 'join', topic: string }
  | { command: 'leave', topic: string }
  | { command: 'say', topic: string, text: string }
  | { command: 'send', peer: string, text: string }
  | { command: 'share', path: string }
  | { command: 'files' }
  | { command: 'get', ref: string, dest?: string }
  | { command: 'help', topic?: CommandName }
  | { command: 'quit' }


/** A line that is not a valid command; `command` is the word it started with ('' for none). */
export class CommandError extends UserError {
  static override name = 'CommandError'
  override name = 'CommandError'
  readonly command: string
  constructor (command: string, message: string) {
    super(message)
    this.command = command
  }
}

/** How each command is written and what it does (the `help` text and the parser's arity). */
export const COMMANDS: Readonly<Record<CommandName, { args: string, help: string }>> = Object.freeze({
  peers: { args: '', help: 'connected peers: relayed or direct, transport, last RTT' },
  addrs: { args: '', help: 'this peer\'s addresses' },
  nat: { args: '', help: 'reachability and NAT summary (public, relayed addresses, hole punching)' },
  dial: { args: '<multiaddr|peer>', help: 'connect (relayed first, then a direct path)' },
  ping: { args: '<peer>', help: 'ping a connected peer' },
  topics: { args: '', help: 'topics joined, with their peers' },
  join: { args: '<topic>', help: 'subscribe to a pub/sub topic' },
  leave: { args: '<topic>', help: 'unsubscribe from a topic' },
  say: { args: '<topic> <text>', help: 'publish text on a topic' },
  send: { args: '<peer> <text>', help: 'direct message to one peer' },
  share: { args: '<path>', help: 'share a file (announced in the DHT)' },
  files: { args: '', help: 'files shared and received' },
  get: { args: '<name|cid> [dest]', help: 'download a file (found through the DHT), resumable' },
  help: { args: '[command]', help: 'this list' },
  quit: { args: '', help: 'leave the shell' }
})

export const COMMAND_NAMES = Object.freeze(Object.keys(COMMANDS) as CommandName[])

/** `say x hello  world` keeps the text as typed after the fixed words (only the separating spaces go). */
function splitWords (line: string, fixed: number): string[] {
  const words: string[] = []
  let rest = line.trimStart()
  while (rest !== '' && words.length < fixed) {
    const m = /^(\S+)\s*/.exec(rest)
    if (m == null) break
    words.push(m[1])
    rest = rest.slice(m[0].length)
  }
  if (rest !== '') words.push(rest.trimEnd())
  return words
}

/** Edit distance (Levenshtein) of two short words, for "did you mean". */
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}

/** Usage line of a command, e.g. `say <topic> <text>`. */
export function usage (name: CommandName): string {
  const a = COMMANDS[name].args
  return a === '' ? name : `${name} ${a}`
}

function isCommandName (word: string): word is CommandName {
  return Object.hasOwn(COMMANDS, word)
}

/**
 * Parses one line. Returns `undefined` for a blank line or a `#` comment;
 * throws {@link CommandError} (one line naming the problem) for bad input.
 */
export function parseCommand (line: string): ShellCommand | undefined {
  if (line.length > MAX_COMMAND_LINE_LENGTH) throw new CommandError('', `line is ${line.length} characters long, more than the limit of ${MAX_COMMAND_LINE_LENGTH}`)
  const trimmed = line.trim()
  if (trimmed === '' || trimmed.startsWith('#')) return undefined
  const name = /^\S+/.exec(trimmed)?.[0] ?? ''
  if (!isCommandName(name)) {
    const close = COMMAND_NAMES.filter(c => distance(c, name.slice(0, 40)) <= 2)
    throw new CommandError(name, `unknown command "${name.slice(0, 40)}"${close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : ''}; type help`)
  }
  const spec = COMMANDS[name].args
  const required = spec.match(/<[^>]+>/g)?.length ?? 0
  const optional = spec.match(/\[[^\]]+\]/g)?.length ?? 0
  const takesText = spec.endsWith('<text>')
  const rest = trimmed.slice(name.length)
  const args = takesText ? splitWords(rest, required - 1) : rest.trim() === '' ? [] : rest.trim().split(/\s+/)
  if (args.length < required) throw new CommandError(name, `${name} needs ${required === 1 ? 'an argument' : `${required} arguments`}: ${usage(name)}`)
  if (args.length > required + optional) throw new CommandError(name, `${name} takes ${required + optional === 0 ? 'no arguments' : `at most ${required + optional} argument${required + optional === 1 ? '' : 's'}`}: ${usage(name)}`)
  const topic = (t: string): string => {
    if (t.length > MAX_TOPIC_LENGTH) throw new CommandError(name, `topic is ${t.length} characters long, more than the limit of ${MAX_TOPIC_LENGTH}`)
    return t
  }
  switch (name) {
    case 'peers': case 'addrs': case 'nat': case 'topics': case 'files': case 'quit':
      return { command: name }
    case 'dial': return { command: 'dial', target: args[0] }
    case 'ping': return { command: 'ping', peer: args[0] }
    case 'join': return { command: 'join', topic: topic(args[0]) }
    case 'leave': return { command: 'leave', topic: topic(args[0]) }
    case 'say': return { command: 'say', topic: topic(args[0]), text: args[1] }
    case 'send': return { command: 'send', peer: args[0], text: args[1] }
    case 'share': return { command: 'share', path: args[0] }
    case 'get': return args[1] != null ? { command: 'get', ref: args[0], dest: args[1] } : { command: 'get', ref: args[0] }
    case 'help': {
      if (args[0] == null) return { command: 'help' }
      if (!isCommandName(args[0])) throw new CommandError(name, `no command "${args[0].slice(0, 40)}"; type help`)
      return { command: 'help', topic: args[0] }
    }
  }
}

/** The `help` text: every command, or one. */
export function helpText (name?: CommandName): string[] {
  const names = name != null ? [name] : COMMAND_NAMES
  const width = Math.max(...names.map(n => usage(n).length))
  return names.map(n => `${usage(n).padEnd(width)}  ${COMMANDS[n].help}`)
}

/** What tab completion may offer for each argument kind. */
export interface CompletionSource {
  peers?: () => string[]
  topics?: () => string[]
  files?: () => string[]
}

/**
 * Tab completion (node:readline's `completer` contract): the candidates for
 * the word under the cursor at the end of `line`, and that word.
 */
export function complete (line: string, source: CompletionSource = {}): [string[], string] {
  const words = line.trimStart().split(/\s+/)
  const current = words[words.length - 1] ?? ''
  if (words.length <= 1) return [COMMAND_NAMES.filter(c => c.startsWith(current)).map(c => `${c} `), current]
  const name = words[0]
  if (!isCommandName(name)) return [[], current]
  const kinds = COMMANDS[name].args.match(/[<[][^>\]]+[>\]]/g) ?? []
  const kind = kinds[words.length - 2]
  let pool: string[] = []
  if (kind === '<peer>' || kind === '<multiaddr|peer>') pool = source.peers?.() ?? []
  else if (kind === '<topic>') pool = source.topics?.() ?? []
  else if (kind === '<name|cid>') pool = source.files?.() ?? []
  else if (kind === '[command]') pool = [...COMMAND_NAMES]
  return [pool.filter(p => p.startsWith(current)), current]
}
