import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { DEFAULT_MINIUPNPD_PATH } from '../src/index.js'

export function works (cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

/** Why lab tests cannot run here, or undefined when they can. */
export const labSkipReason: string | undefined =
  process.platform !== 'linux'
    ? 'NAT lab tests need Linux network namespaces'
    : process.getuid?.() !== 0
      ? 'NAT lab tests need root (network namespaces + nftables); CI runs them as root'
      : !works('ip', ['-V'])
          ? 'NAT lab tests need iproute2 (apt-get install -y iproute2)'
          : !works('nft', ['--version'])
              ? 'NAT lab tests need nftables (apt-get install -y nftables)'
              : undefined

if (labSkipReason != null) process.stderr.write(`[natkit-lab tests skipped] ${labSkipReason}\n`)

export const upnpSkipReason: string | undefined = labSkipReason ?? (existsSync(DEFAULT_MINIUPNPD_PATH) ? undefined : 'UPnP lab test needs miniupnpd (apt-get install -y miniupnpd-nftables)')

if (labSkipReason == null && upnpSkipReason != null) process.stderr.write(`[natkit-lab upnp test skipped] ${upnpSkipReason}\n`)

/** Parses `echo <msg> <ip> <port>` replies of the UDP echo server probe. */
export function parseEcho (msg: unknown): { msg: string, ip: string, port: number } | undefined {
  const m = typeof msg === 'string' ? /^echo (\S+) (\S+) (\d+)$/.exec(msg) : null
  return m != null ? { msg: m[1] as string, ip: m[2] as string, port: Number(m[3]) } : undefined
}
