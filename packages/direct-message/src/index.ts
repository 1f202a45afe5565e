/**
 * @packageDocumentation
 *
 * `@natkit/direct-message` — direct (one-to-one) text messages between libp2p
 * peers over the `/natkit/dm/1.0.0` protocol: one length-prefixed protobuf
 * frame per message, answered by an ack frame. Bounded size, per-send
 * timeout, typed errors; works over relayed (limited) connections.
 *
 * @example
 *
 * ```ts
 * import { directMessages } from '@natkit/direct-message'
 *
 * const node = await createLibp2p({ ..., services: { dm: directMessages() } })
 * node.services.dm.addEventListener('message', (evt) => {
 *   console.log(evt.detail.from, 'says', evt.detail.text)
 * })
 * await node.services.dm.send(otherPeerId, 'hello')
 * ```
 */
import { DirectMessagesService } from './direct-messages.js'
import type { DirectMessages, DirectMessagesComponents, DirectMessagesInit } from './direct-messages.js'

/** Creates the direct messages service factory for `createLibp2p({ services })`. */
export function directMessages (init: DirectMessagesInit = {}): (components: DirectMessagesComponents) => DirectMessages {
  return (components) => new DirectMessagesService(components, init)
}

export { DirectMessagesService } from './direct-messages.js'
export type { DirectMessages, DirectMessagesComponents, DirectMessagesInit, DirectMessageEvent, DirectMessagesEvents } from './direct-messages.js'
export { DIRECT_MESSAGE_PROTOCOL, DEFAULT_MAX_TEXT_BYTES, DEFAULT_TIMEOUT, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, FRAME_OVERHEAD } from './constants.js'
export { encodeDirectMessage, decodeDirectMessage, encodeAck, decodeAck, encodeFrame, decodeFrame, maxFrameBytes } from './codec.js'
export type { Ack, AckStatus } from './codec.js'
export * from './errors.js'
