import { ProtocolError, TimeoutError } from '@libp2p/interface'

/** Base class of every malformed, truncated or oversized file transfer frame. */
export class FileProtocolError extends ProtocolError {
  static override name = 'FileProtocolError'
  override name = 'FileProtocolError'

  constructor (message?: string, options?: ErrorOptions) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
  }
}

/** A frame (or its declared length) is larger than allowed. */
export class FileFrameTooLargeError extends FileProtocolError {
  static override name = 'FileFrameTooLargeError'
  override name = 'FileFrameTooLargeError'
}

/** A frame ended early (in its length prefix, a field, or the stream closed). */
export class FileFrameTruncatedError extends FileProtocolError {
  static override name = 'FileFrameTruncatedError'
  override name = 'FileFrameTruncatedError'
}

/** A frame is not valid protobuf for its message, misses a required field or breaks the protocol. */
export class FileFrameMalformedError extends FileProtocolError {
  static override name = 'FileFrameMalformedError'
  override name = 'FileFrameMalformedError'
}

/** A chunk's data does not match its sha-256 (or arrived at the wrong offset). The part file keeps only verified chunks. */
export class ChunkVerificationError extends FileProtocolError {
  static override name = 'ChunkVerificationError'
  override name = 'ChunkVerificationError'
}

/** The whole received file does not hash to the requested CID. The part file is deleted. */
export class FileVerificationError extends FileProtocolError {
  static override name = 'FileVerificationError'
  override name = 'FileVerificationError'
}

/** The provider does not share the requested file. */
export class RemoteFileNotFoundError extends Error {
  static override name = 'RemoteFileNotFoundError'
  override name = 'RemoteFileNotFoundError'
}

/** A file is larger than `maxFileSize`. */
export class FileTooLargeError extends Error {
  static override name = 'FileTooLargeError'
  override name = 'FileTooLargeError'
}

/** `share` would exceed `maxSharedFiles`. */
export class TooManySharedFilesError extends Error {
  static override name = 'TooManySharedFilesError'
  override name = 'TooManySharedFilesError'
}

/** The destination file already exists: it is never overwritten. */
export class DestinationExistsError extends Error {
  static override name = 'DestinationExistsError'
  override name = 'DestinationExistsError'
}

/** The string given to `get` is not a CID (and a name needs `from`). */
export class InvalidContentIdError extends Error {
  static override name = 'InvalidContentIdError'
  override name = 'InvalidContentIdError'
}

/** No provider was found, or every provider tried failed (`cause` holds the last failure). */
export class NoProvidersError extends Error {
  static override name = 'NoProvidersError'
  override name = 'NoProvidersError'
}

/** Only a limited (relayed) connection to the provider, and no direct one came within the bound. */
export class DirectConnectionTimeoutError extends TimeoutError {
  static override name = 'DirectConnectionTimeoutError'
  override name = 'DirectConnectionTimeoutError'
}

/** No frame arrived within the per-chunk timeout. */
export class FileTransferTimeoutError extends TimeoutError {
  static override name = 'FileTransferTimeoutError'
  override name = 'FileTransferTimeoutError'
}

/** The provider answered with an error (e.g. the file changed since it was shared). */
export class RemoteFileError extends Error {
  static override name = 'RemoteFileError'
  override name = 'RemoteFileError'
}
