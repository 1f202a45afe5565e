/**
 * @packageDocumentation
 *
 * UPnP IGD port mapping for natkit nodes: finds the LAN's gateway (SSDP),
 * maps every private TCP listen port as soon as the gateway answered, and
 * announces the mapped address; says why when it cannot (`upnp:failed`).
 *
 * ```ts
 * services: { upnp: upnpPortMapping({ events }) }
 * ```
 *
 * SSDP is multicast on the LAN: run it only where the user asked for it.
 */
export * from './constants.js'
export { UpnpPortMapping, upnpPortMapping } from './upnp.js'
export type { UpnpClient, UpnpPortMappingComponents, UpnpPortMappingInit } from './upnp.js'
