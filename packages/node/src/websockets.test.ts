/**
 * importWithoutUndici: node:http's ES module view is built without loading
 * undici, and the three getters are back afterwards (also when the import
 * fails). In a fresh process each: the state under test is per process.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { TS_HOOKS } from '@natkit/testkit'

const MODULE = JSON.stringify(new URL('./websockets.ts', import.meta.url).pathname)

/** Runs `body` (an async module body with `mod`, `http`, `undici()` and `out`) in a fresh Node; resolves with `out`. */
function inFreshNode (body: string): Record<string, unknown> {
  const script = `
    import { createRequire } from 'node:module'
    const mod = await import(${MODULE})
    const http = createRequire(import.meta.url)('node:http')
    const undici = () => process.moduleLoadList.includes('NativeModule internal/deps/undici/undici')
    const getters = () => mod.UNDICI_HTTP_EXPORTS.filter(n => typeof Object.getOwnPropertyDescriptor(http, n)?.get === 'function')
    const out = {}
    ${body}
    process.stdout.write(JSON.stringify(out))
  `
  const res = spawnSync(process.execPath, ['--no-warnings', '--conditions=source', '--import', TS_HOOKS, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
  expect(res.stderr).toBe('')
  return JSON.parse(res.stdout)
}

describe('importWithoutUndici', () => {
  it('a plain ES import of node:http loads undici (what this works around: if Node stops doing it, this fails and the workaround can go)', () => {
    const out = inFreshNode(`
      out.before = undici()
      await import('node:http')
      out.after = undici()
    `)
    expect(out).toEqual({ before: false, after: true })
  })

  it('builds node:http\'s ES module view without undici and puts the getters back; require(\'node:http\').WebSocket still works', () => {
    const out = inFreshNode(`
      out.gettersBefore = getters()
      const ns = await mod.importWithoutUndici(() => import('node:http'))
      out.createServer = typeof ns.createServer
      out.undiciAfterImport = undici()
      out.gettersAfter = getters()
      out.webSocket = typeof http.WebSocket
      out.undiciAfterUse = undici()
    `)
    expect(out).toEqual({ gettersBefore: ['WebSocket', 'CloseEvent', 'MessageEvent'], createServer: 'function', undiciAfterImport: false, gettersAfter: ['WebSocket', 'CloseEvent', 'MessageEvent'], webSocket: 'function', undiciAfterUse: true })
  })

  it('puts the getters back when the import fails, and passes the failure on', () => {
    const out = inFreshNode(`
      out.error = await mod.importWithoutUndici(() => import('./no-such-module.js')).then(() => null, (err) => err.code)
      out.gettersAfter = getters()
    `)
    expect(out).toEqual({ error: 'ERR_MODULE_NOT_FOUND', gettersAfter: ['WebSocket', 'CloseEvent', 'MessageEvent'] })
  })

  it('loadWebSockets gives the transport factory without loading undici', () => {
    const out = inFreshNode(`
      const webSockets = await mod.loadWebSockets()
      out.factory = typeof webSockets
      out.transport = typeof webSockets()
      out.undici = undici()
    `)
    expect(out).toEqual({ factory: 'function', transport: 'function', undici: false })
  })
})
