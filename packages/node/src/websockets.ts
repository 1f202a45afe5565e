/**
 * The WebSockets transport, loaded without loading undici.
 *
 * `@libp2p/websockets` imports `node:http` as an ES module. Node builds the ES
 * module view of a built-in by reading every one of its exports, and since
 * Node 22 `node:http` has three lazy getters (`WebSocket`, `CloseEvent`,
 * `MessageEvent`) that load undici, Node's bundled HTTP client, the largest
 * built-in: 30-45 ms at every start of a role on the development machines
 * (`import('node:http')` 30-45 ms, `require('node:http')` 4-5 ms), about the
 * whole difference between natkit-relay's start and a stock js-libp2p relay's
 * without WebSockets (nodejs/node#59686, #57649; docs/upstream.md §12). No role
 * uses those three classes.
 *
 * For the role binaries only (processes natkit owns; a library would not touch
 * a built-in's exports): the getters are taken off `node:http` while its ES
 * module view is first built, then put back, so `require('node:http').WebSocket`
 * still works; the ES module view's `WebSocket`, `CloseEvent` and
 * `MessageEvent` stay `undefined` for the life of the process (nothing a role
 * loads imports them; `globalThis.WebSocket` is unaffected). When the view
 * already exists (something imported `node:http` before), nothing changes.
 */
import { createRequire } from 'node:module'
import type { webSockets as WebSocketsFactory } from '@libp2p/websockets'

const require = createRequire(import.meta.url)

/** The exports of `node:http` whose getters load undici. */
export const UNDICI_HTTP_EXPORTS = ['WebSocket', 'CloseEvent', 'MessageEvent'] as const

/**
 * Runs `load` (an import that may build `node:http`'s ES module view first)
 * with `node:http`'s undici getters taken off, and puts them back after, even
 * when `load` fails. Only getters that are there and configurable are taken.
 * Nothing else should run meanwhile: call it while a process starts.
 */
export async function importWithoutUndici<T> (load: () => Promise<T>): Promise<T> {
  const http: Record<string, unknown> = require('node:http')
  const taken: Array<[string, PropertyDescriptor]> = []
  for (const name of UNDICI_HTTP_EXPORTS) {
    const descriptor = Object.getOwnPropertyDescriptor(http, name)
    if (descriptor?.get != null && descriptor.configurable === true) {
      taken.push([name, descriptor])
      delete http[name]
    }
  }
  try {
    return await load()
  } finally {
    for (const [name, descriptor] of taken) Object.defineProperty(http, name, descriptor)
  }
}

/** `webSockets` of `@libp2p/websockets`, loaded by {@link importWithoutUndici}. */
export async function loadWebSockets (): Promise<typeof WebSocketsFactory> {
  return (await importWithoutUndici(async () => await import('@libp2p/websockets'))).webSockets
}
