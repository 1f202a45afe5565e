import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface FileRequest {
  cid?: string
  name?: string
}

export namespace FileRequest {
  let _codec: Codec<FileRequest>

  export const codec = (): Codec<FileRequest> => {
    if (_codec == null) {
      _codec = message<FileRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.cid != null) {
          w.uint32(10)
          w.string(obj.cid)
        }

        if (obj.name != null) {
          w.uint32(18)
          w.string(obj.name)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cid = reader.string()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cid`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FileRequestCidFieldEvent {
    field: '$.cid'
    value: string
  }

  export interface FileRequestNameFieldEvent {
    field: '$.name'
    value: string
  }

  export function encode (obj: Partial<FileRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FileRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileRequest>): FileRequest {
    return decodeMessage(buf, FileRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileRequest>): Generator<FileRequestCidFieldEvent | FileRequestNameFieldEvent> {
    return streamMessage(buf, FileRequest.codec(), opts)
  }
}

export interface FileHeader {
  status?: FileHeader.Status
  cid?: string
  name?: string
  bytes?: bigint
  chunkSize?: number
  error?: string
}

export namespace FileHeader {
  export enum Status {
    UNUSED = 'UNUSED',
    OK = 'OK',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR'
  }

  enum __StatusValues {
    UNUSED = 0,
    OK = 1,
    NOT_FOUND = 2,
    ERROR = 3
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<FileHeader>

  export const codec = (): Codec<FileHeader> => {
    if (_codec == null) {
      _codec = message<FileHeader>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null) {
          w.uint32(8)
          FileHeader.Status.codec().encode(obj.status, w)
        }

        if (obj.cid != null) {
          w.uint32(18)
          w.string(obj.cid)
        }

        if (obj.name != null) {
          w.uint32(26)
          w.string(obj.name)
        }

        if (obj.bytes != null) {
          w.uint32(32)
          w.uint64(obj.bytes)
        }

        if (obj.chunkSize != null) {
          w.uint32(40)
          w.uint32(obj.chunkSize)
        }

        if (obj.error != null) {
          w.uint32(50)
          w.string(obj.error)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = FileHeader.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.cid = reader.string()
              break
            }
            case 3: {
              obj.name = reader.string()
              break
            }
            case 4: {
              obj.bytes = reader.uint64()
              break
            }
            case 5: {
              obj.chunkSize = reader.uint32()
              break
            }
            case 6: {
              obj.error = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: FileHeader.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.cid`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.bytes`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.chunkSize`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FileHeaderStatusFieldEvent {
    field: '$.status'
    value: FileHeader.Status
  }

  export interface FileHeaderCidFieldEvent {
    field: '$.cid'
    value: string
  }

  export interface FileHeaderNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface FileHeaderBytesFieldEvent {
    field: '$.bytes'
    value: bigint
  }

  export interface FileHeaderChunkSizeFieldEvent {
    field: '$.chunkSize'
    value: number
  }

  export interface FileHeaderErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export function encode (obj: Partial<FileHeader>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FileHeader.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileHeader>): FileHeader {
    return decodeMessage(buf, FileHeader.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileHeader>): Generator<FileHeaderStatusFieldEvent | FileHeaderCidFieldEvent | FileHeaderNameFieldEvent | FileHeaderBytesFieldEvent | FileHeaderChunkSizeFieldEvent | FileHeaderErrorFieldEvent> {
    return streamMessage(buf, FileHeader.codec(), opts)
  }
}

export interface FileCredit {
  offset?: bigint
  chunks?: number
}

export namespace FileCredit {
  let _codec: Codec<FileCredit>

  export const codec = (): Codec<FileCredit> => {
    if (_codec == null) {
      _codec = message<FileCredit>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.offset != null) {
          w.uint32(8)
          w.uint64(obj.offset)
        }

        if (obj.chunks != null) {
          w.uint32(16)
          w.uint32(obj.chunks)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.offset = reader.uint64()
              break
            }
            case 2: {
              obj.chunks = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.chunks`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FileCreditOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface FileCreditChunksFieldEvent {
    field: '$.chunks'
    value: number
  }

  export function encode (obj: Partial<FileCredit>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FileCredit.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileCredit>): FileCredit {
    return decodeMessage(buf, FileCredit.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileCredit>): Generator<FileCreditOffsetFieldEvent | FileCreditChunksFieldEvent> {
    return streamMessage(buf, FileCredit.codec(), opts)
  }
}

export interface FileChunk {
  offset?: bigint
  data?: Uint8Array<ArrayBuffer>
  sha256?: Uint8Array<ArrayBuffer>
}

export namespace FileChunk {
  let _codec: Codec<FileChunk>

  export const codec = (): Codec<FileChunk> => {
    if (_codec == null) {
      _codec = message<FileChunk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.offset != null) {
          w.uint32(8)
          w.uint64(obj.offset)
        }

        if (obj.data != null) {
          w.uint32(18)
          w.bytes(obj.data)
        }

        if (obj.sha256 != null) {
          w.uint32(26)
          w.bytes(obj.sha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.offset = reader.uint64()
              break
            }
            case 2: {
              obj.data = reader.bytes()
              break
            }
            case 3: {
              obj.sha256 = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FileChunkOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface FileChunkDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FileChunkSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<FileChunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FileChunk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileChunk>): FileChunk {
    return decodeMessage(buf, FileChunk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileChunk>): Generator<FileChunkOffsetFieldEvent | FileChunkDataFieldEvent | FileChunkSha256FieldEvent> {
    return streamMessage(buf, FileChunk.codec(), opts)
  }
}
