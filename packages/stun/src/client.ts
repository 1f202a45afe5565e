import { createSocket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { AbortError, InvalidParametersError, TimeoutError } from '@libp2p/interface'
import {
  DEFAULT_STUN_CLIENT_TIMEOUT_MS,
  DEFAULT_STUN_INITIAL_RTO_MS,
  DEFAULT_STUN_MAX_TRANSMISSIONS,
  StunAttribute,
  StunClass,
  StunMethod
} from './constants.js'
import {
  InvalidStunResponseError,
  StunDecodeError,
  StunErrorResponseError
} from './errors.js'
import {
  createTransactionId,
  decodeErrorCode,
  decodeMappedAddress,
  decodeStunMessage,
  decodeUnknownAttributes,
  decodeXorMappedAddress,
  encodeChangeRequest,
  encodeStunMessage,
  getAttribute
} from './message.js'
import type { StunAddress, StunAttributeRecord, StunChangeRequest, StunMessage } from './message.js'
import type { Socket } from 'node:dgram'

/** Options of {@link stunBindingRequest}. */
export interface StunBindingRequestOptions {
  /**
   * Overall time to wait for a response, in milliseconds.
   *
   * @default DEFAULT_STUN_CLIENT_TIMEOUT_MS
   */
  timeout?: number

  /**
   * Send from this existing (bound or not yet bound) socket, e.g. the one
   * whose mapping you want to learn. It is not closed afterwards; other
   * traffic on it is left alone (only the matching response is consumed).
   */
  socket?: Socket

  /** Local port to bind when no `socket` is given. @default 0 (any) */
  localPort?: number

  /** Local address to bind when no `socket` is given. @default all interfaces */
  localAddress?: string

  /**
   * First retransmission timeout; doubles after each retransmission
   * (RFC 8489 §6.2.1).
   *
   * @default DEFAULT_STUN_INITIAL_RTO_MS
   */
  initialRto?: number

  /**
   * Most transmissions of the request (first send included).
   *
   * @default DEFAULT_STUN_MAX_TRANSMISSIONS
   */
  maxTransmissions?: number

  /**
   * Add a FINGERPRINT attribute to the request.
   *
   * @default false
   */
  fingerprint?: boolean

  /** Extra attributes for the request (e.g. to probe a server). */
  attributes?: StunAttributeRecord[]

  /**
   * Add a CHANGE-REQUEST (RFC 5780 §7.2) asking the server to answer from its
   * alternate IP and/or port. A server without that support answers 420
   * (a {@link StunErrorResponseError}); behind a filtering NAT the answer may
   * never arrive (a {@link TimeoutError}).
   *
   * @default undefined (no CHANGE-REQUEST)
   */
  changeRequest?: Partial<StunChangeRequest>

  /** Aborts the request. */
  signal?: AbortSignal
}

/** The result of a Binding transaction. */
export interface StunBindingResult extends StunAddress {
  /** The transaction id that was used. */
  transactionId: Uint8Array
  /** SOFTWARE of the server, if it sent one. */
  software?: string
  /** Where the response datagram came from (the socket's view). */
  from: { address: string, port: number }
  /** RESPONSE-ORIGIN (RFC 5780 §7.3): the address the server says it answered from. */
  responseOrigin?: StunAddress
  /** OTHER-ADDRESS (RFC 5780 §7.4): the server's alternate address and port. */
  otherAddress?: StunAddress
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

function checkPositive (name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidParametersError(`${name} must be a positive number, got ${value}`)
  }
}

/**
 * Sends a STUN Binding request to `server` and resolves with the address and
 * port the server saw (this socket's server-reflexive address).
 * Retransmits with exponential backoff until `timeout`.
 *
 * @throws {TimeoutError} when no response arrives in time
 * @throws {StunErrorResponseError} when the server answers with an error
 * @throws {InvalidStunResponseError} when a success response has no address
 * @throws {AbortError} when `signal` aborts
 */
export async function stunBindingRequest (server: { host: string, port: number }, options: StunBindingRequestOptions = {}): Promise<StunBindingResult> {
  const timeout = options.timeout ?? DEFAULT_STUN_CLIENT_TIMEOUT_MS
  const initialRto = options.initialRto ?? DEFAULT_STUN_INITIAL_RTO_MS
  const maxTransmissions = options.maxTransmissions ?? DEFAULT_STUN_MAX_TRANSMISSIONS
  checkPositive('timeout', timeout)
  checkPositive('initialRto', initialRto)
  checkPositive('maxTransmissions', maxTransmissions)

  if (options.signal?.aborted === true) {
    throw new AbortError('the STUN request was aborted')
  }

  const transactionId = createTransactionId()
  const request = encodeStunMessage({
    method: StunMethod.Binding,
    class: StunClass.Request,
    transactionId,
    attributes: options.changeRequest == null ? options.attributes : [...(options.attributes ?? []), { type: StunAttribute.ChangeRequest, value: encodeChangeRequest(options.changeRequest) }],
    fingerprint: options.fingerprint
  })

  const ownSocket = options.socket == null
  const socket = options.socket ?? createSocket(isIPv6(server.host) ? 'udp6' : 'udp4')

  try {
    if (ownSocket) {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind({ port: options.localPort ?? 0, address: options.localAddress }, () => {
          socket.off('error', reject)
          resolve()
        })
      })
    }

    return await new Promise<StunBindingResult>((resolve, reject) => {
      let transmissions = 0
      let rto = initialRto
      let retransmitTimer: ReturnType<typeof setTimeout> | undefined

      const cleanup = (): void => {
        clearTimeout(deadline)
        clearTimeout(retransmitTimer)
        socket.off('message', onMessage)
        socket.off('error', onError)
        options.signal?.removeEventListener('abort', onAbort)
      }
      const fail = (err: Error): void => {
        cleanup()
        reject(err)
      }
      const onError = (err: Error): void => { fail(err) }
      const onAbort = (): void => { fail(new AbortError('the STUN request was aborted')) }

      const transmit = (): void => {
        transmissions++
        socket.send(request, server.port, server.host, (err) => {
          if (err != null) {
            fail(err)
          }
        })

        if (transmissions < maxTransmissions) {
          retransmitTimer = setTimeout(transmit, rto)
          rto *= 2
        }
      }

      const onMessage = (data: Buffer, rinfo: { address: string, port: number }): void => {
        let message: StunMessage
        try {
          message = decodeStunMessage(data)
        } catch {
          return // not STUN, or not for us
        }

        if (message.method !== StunMethod.Binding || !sameBytes(message.transactionId, transactionId)) {
          return
        }

        if (message.class === StunClass.SuccessResponse) {
          cleanup()

          try {
            resolve(parseSuccess(message, transactionId, { address: rinfo.address, port: rinfo.port }))
          } catch (err) {
            reject(err)
          }
        } else if (message.class === StunClass.ErrorResponse) {
          cleanup()
          reject(parseError(message))
        }
      }

      const deadline = setTimeout(() => {
        fail(new TimeoutError(`no STUN response from ${server.host}:${server.port} within ${timeout} ms`))
      }, timeout)

      socket.on('message', onMessage)
      socket.on('error', onError)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      transmit()
    })
  } finally {
    if (ownSocket) {
      try {
        socket.close()
      } catch {
        // already closed
      }
    }
  }
}

function parseSuccess (message: StunMessage, transactionId: Uint8Array, from: { address: string, port: number }): StunBindingResult {
  const xor = getAttribute(message, StunAttribute.XorMappedAddress)
  const plain = getAttribute(message, StunAttribute.MappedAddress)
  const softwareValue = getAttribute(message, StunAttribute.Software)
  const software = softwareValue == null ? undefined : new TextDecoder().decode(softwareValue)
  const originValue = getAttribute(message, StunAttribute.ResponseOrigin)
  const otherValue = getAttribute(message, StunAttribute.OtherAddress)

  try {
    const extra = {
      transactionId,
      software,
      from,
      ...(originValue == null ? {} : { responseOrigin: decodeMappedAddress(originValue) }),
      ...(otherValue == null ? {} : { otherAddress: decodeMappedAddress(otherValue) })
    }

    if (xor != null) {
      return { ...decodeXorMappedAddress(xor, transactionId), ...extra }
    }

    if (plain != null) {
      return { ...decodeMappedAddress(plain), ...extra }
    }
  } catch (err) {
    if (err instanceof StunDecodeError) {
      throw new InvalidStunResponseError(`bad mapped address in response: ${err.message}`)
    }

    throw err
  }

  throw new InvalidStunResponseError('success response has neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS')
}

function parseError (message: StunMessage): Error {
  const errorCode = getAttribute(message, StunAttribute.ErrorCode)
  const unknown = getAttribute(message, StunAttribute.UnknownAttributes)

  if (errorCode == null) {
    return new InvalidStunResponseError('error response has no ERROR-CODE')
  }

  try {
    const { code, reason } = decodeErrorCode(errorCode)
    return new StunErrorResponseError(code, reason, unknown == null ? [] : decodeUnknownAttributes(unknown))
  } catch (err) {
    return new InvalidStunResponseError(`bad error response: ${err instanceof Error ? err.message : String(err)}`)
  }
}
