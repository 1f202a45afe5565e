import { isPrivate } from '@libp2p/utils'
import { TCP } from '@multiformats/multiaddr-matcher'
import type { NatkitEvents } from '@natkit/events'
import type { ComponentLogger, Libp2pEvents, Listener, Logger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'

export interface PublicAddressConfirmationInit {
  /** Where the `info` event for each announced address goes. */
  events: NatkitEvents
}

/** The libp2p components public-address confirmation uses. */
export interface PublicAddressConfirmationComponents {
  addressManager: Pick<AddressManager, 'confirmObservedAddr'>
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/**
 * A TCP listen address on one of this host's own interfaces whose IP is
 * public (no NAT in front) is announced right away, as go-libp2p does. js-libp2p
 * would wait for AutoNAT v2 to confirm it from several network segments, and
 * until then a relayed peer cannot upgrade unilaterally to us; the DCUtR
 * exchange is then the only way, which cannot work into a listener (both
 * sides would be multistream responders).
 *
 * A libp2p service: it confirms each address as its listener starts listening.
 */
export class PublicAddressConfirmation implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/public-address-confirmation'
  readonly #components: PublicAddressConfirmationComponents
  readonly #events: NatkitEvents
  readonly #log: Logger
  readonly #confirmed = new Set<string>()

  constructor (components: PublicAddressConfirmationComponents, init: PublicAddressConfirmationInit) {
    this.#components = components
    this.#events = init.events
    this.#log = components.logger.forComponent('natkit:public-addrs')
  }

  readonly #onListening = (evt: CustomEvent<Listener>): void => {
    for (const ma of evt.detail.getAddrs()) {
      if (!TCP.exactMatch(ma) || isPrivate(ma) === true || this.#confirmed.has(ma.toString())) continue
      this.#confirmed.add(ma.toString())
      this.#log('confirming %a', ma)
      this.#components.addressManager.confirmObservedAddr(ma, { type: 'transport' })
      this.#events.emit('info', { message: `announcing ${ma.toString()}: a public address on this host's own interface` })
    }
  }

  start (): void {
    this.#confirmed.clear()
    this.#components.events.addEventListener('transport:listening', this.#onListening)
  }

  stop (): void {
    this.#components.events.removeEventListener('transport:listening', this.#onListening)
  }
}

/** `services: { publicAddrs: publicAddressConfirmation({ events }) }` */
export function publicAddressConfirmation (init: PublicAddressConfirmationInit): (components: PublicAddressConfirmationComponents) => PublicAddressConfirmation {
  return (components) => new PublicAddressConfirmation(components, init)
}
