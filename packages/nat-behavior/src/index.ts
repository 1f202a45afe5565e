/**
 * @packageDocumentation
 *
 * NAT behaviour discovery in RFC 4787 / RFC 5780 terms: mapping, port
 * allocation, filtering, hairpinning and what happens to an unsolicited
 * inbound TCP SYN. `classifyNat` is a pure function of the observations;
 * `discoverNat` runs the probes against natkit STUN servers (one with an
 * alternate address, `createStunServer({ alternate })`) and a TCP
 * connect-back observer (`createConnectBackServer`).
 */
export * from './classify.js'
export * from './connect-back.js'
export * from './discover.js'
export * from './event.js'
export * from './observers.js'
