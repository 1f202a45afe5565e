import { describe, expect, it } from 'vitest'
import { COMMAND_NAMES, CommandError, MAX_COMMAND_LINE_LENGTH, MAX_TOPIC_LENGTH, complete, helpText, parseCommand } from './index.js'

const error = (line: string): CommandError => {
  try {
    parseCommand(line)
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError)
    expect((err as Error).message).not.toContain('\n')
    return err as CommandError
  }
  throw new Error(`"${line}" parsed`)
}

describe('parseCommand', () => {
  it('parses every command with its arguments', () => {
    expect(parseCommand('peers')).toEqual({ command: 'peers' })
    expect(parseCommand('  addrs  ')).toEqual({ command: 'addrs' })
    expect(parseCommand('nat')).toEqual({ command: 'nat' })
    expect(parseCommand('dial /ip4/127.0.0.1/tcp/1/p2p/12D3KooWx')).toEqual({ command: 'dial', target: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx' })
    expect(parseCommand('ping 12D3KooWx')).toEqual({ command: 'ping', peer: '12D3KooWx' })
    expect(parseCommand('topics')).toEqual({ command: 'topics' })
    expect(parseCommand('join chat')).toEqual({ command: 'join', topic: 'chat' })
    expect(parseCommand('leave chat')).toEqual({ command: 'leave', topic: 'chat' })
    expect(parseCommand('share ./a.bin')).toEqual({ command: 'share', path: './a.bin' })
    expect(parseCommand('files')).toEqual({ command: 'files' })
    expect(parseCommand('get bafkrei123')).toEqual({ command: 'get', ref: 'bafkrei123' })
    expect(parseCommand('get a.bin /tmp/x')).toEqual({ command: 'get', ref: 'a.bin', dest: '/tmp/x' })
    expect(parseCommand('help')).toEqual({ command: 'help' })
    expect(parseCommand('help say')).toEqual({ command: 'help', topic: 'say' })
    expect(parseCommand('quit')).toEqual({ command: 'quit' })
  })

  it('keeps a message\'s text as typed, inner spaces included', () => {
    expect(parseCommand('say chat hello   world ')).toEqual({ command: 'say', topic: 'chat', text: 'hello   world' })
    expect(parseCommand('send 12D3KooWx  hi there')).toEqual({ command: 'send', peer: '12D3KooWx', text: 'hi there' })
  })

  it('ignores blank lines and comments', () => {
    expect(parseCommand('')).toBeUndefined()
    expect(parseCommand('   ')).toBeUndefined()
    expect(parseCommand('# a comment')).toBeUndefined()
  })

  it('names the problem of bad input in one line', () => {
    expect(error('frobnicate').message).toMatch(/^unknown command "frobnicate"; type help$/)
    expect(error('frobnicate').command).toBe('frobnicate')
    expect(error('jion chat').message).toContain('did you mean join')
    expect(error('say chat')).toMatchObject({ command: 'say', message: 'say needs 2 arguments: say <topic> <text>' })
    expect(error('send')).toMatchObject({ command: 'send', message: 'send needs 2 arguments: send <peer> <text>' })
    expect(error('join')).toMatchObject({ command: 'join', message: 'join needs an argument: join <topic>' })
    expect(error('peers now')).toMatchObject({ command: 'peers', message: 'peers takes no arguments: peers' })
    expect(error('get a b c')).toMatchObject({ command: 'get', message: 'get takes at most 2 arguments: get <name|cid> [dest]' })
    expect(error('help me')).toMatchObject({ command: 'help', message: 'no command "me"; type help' })
    expect(error(`join ${'t'.repeat(MAX_TOPIC_LENGTH + 1)}`).message).toMatch(/^topic is 257 characters long/)
    expect(error('x'.repeat(MAX_COMMAND_LINE_LENGTH + 1))).toMatchObject({ command: '', message: `line is ${MAX_COMMAND_LINE_LENGTH + 1} characters long, more than the limit of ${MAX_COMMAND_LINE_LENGTH}` })
  })

  it('is not fooled by names of Object.prototype', () => {
    expect(error('constructor').message).toMatch(/unknown command/)
    expect(error('toString x').message).toMatch(/unknown command/)
  })
})

describe('helpText', () => {
  it('lists every command with its usage', () => {
    const lines = helpText()
    expect(lines).toHaveLength(COMMAND_NAMES.length)
    expect(lines.find(l => l.startsWith('say <topic> <text>'))).toContain('publish')
    expect(helpText('get')).toEqual([expect.stringMatching(/^get <name\|cid> \[dest\] {2}download/)])
  })
})

describe('complete', () => {
  const source = { peers: () => ['12D3KooWaaa', '12D3KooWbbb'], topics: () => ['chat', 'news'], files: () => ['a.bin'] }
  it('completes command names, then the argument kind of each position', () => {
    expect(complete('jo', source)).toEqual([['join '], 'jo'])
    expect(complete('', source)[0]).toHaveLength(COMMAND_NAMES.length)
    expect(complete('say c', source)).toEqual([['chat'], 'c'])
    expect(complete('send 12D3KooWb', source)).toEqual([['12D3KooWbbb'], '12D3KooWb'])
    expect(complete('get a', source)).toEqual([['a.bin'], 'a'])
    expect(complete('help sa', source)).toEqual([['say'], 'sa'])
    // the text of a message is not completed
    expect(complete('say chat c', source)).toEqual([[], 'c'])
    expect(complete('nope x', source)).toEqual([[], 'x'])
  })
})
