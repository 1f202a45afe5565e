import type { Summary } from './scenario.js'

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * A self-contained SVG chart of a matrix run: per NAT pair, one bar per
 * transport for the direct-connection success rate, labelled with the median
 * time from relayed to direct connection.
 */
export function matrixSvg (summaries: Summary[], title: string): string {
  const scenarios = [...new Set(summaries.map(s => s.scenario))]
  const transports = [...new Set(summaries.map(s => s.transport))]
  const colors: Record<string, string> = { tcp: '#2b6cb0', webrtc: '#d69e2e' }
  const left = 70; const top = 76; const plotH = 260; const groupW = 40 + 46 * transports.length
  const width = left + scenarios.length * groupW + 30
  const height = top + plotH + 150
  const y = (rate: number): number => top + plotH - rate * plotH
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`)
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`)
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${y(r)}" y2="${y(r)}" stroke="#ddd"/>`)
    out.push(`<text x="${left - 8}" y="${y(r) + 4}" text-anchor="end">${Math.round(r * 100)}%</text>`)
  }
  out.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">direct connection success</text>`)
  scenarios.forEach((sc, i) => {
    const x0 = left + i * groupW + 20
    transports.forEach((t, j) => {
      const s = summaries.find(x => x.scenario === sc && x.transport === t)
      if (s == null) return
      const x = x0 + j * 46
      const h = s.successRate * plotH
      out.push(`<rect x="${x}" y="${y(s.successRate)}" width="38" height="${Math.max(h, 1)}" fill="${colors[t] ?? '#666'}"><title>${esc(`${sc} ${t}: ${s.direct}/${s.trials} direct`)}</title></rect>`)
      out.push(`<text x="${x + 19}" y="${y(s.successRate) - 16}" text-anchor="middle">${s.direct}/${s.trials}</text>`)
      out.push(`<text x="${x + 19}" y="${y(s.successRate) - 4}" text-anchor="middle" font-size="10" fill="#444">${s.medianTimeToDirectMs != null ? `${Math.round(s.medianTimeToDirectMs)}ms` : ''}</text>`)
    })
    const [a, b] = sc.split(':')
    out.push(`<text x="${x0 + (46 * transports.length) / 2 - 4}" y="${top + plotH + 18}" text-anchor="middle">${esc(a)}</text>`)
    out.push(`<text x="${x0 + (46 * transports.length) / 2 - 4}" y="${top + plotH + 32}" text-anchor="middle">↔ ${esc(b)}</text>`)
  })
  transports.forEach((t, j) => {
    out.push(`<rect x="${left + j * 120}" y="${top + plotH + 56}" width="14" height="14" fill="${colors[t] ?? '#666'}"/>`)
    out.push(`<text x="${left + j * 120 + 20}" y="${top + plotH + 68}">${esc(t)}</text>`)
  })
  out.push(`<text x="${left}" y="${top + plotH + 96}" fill="#444">bars: share of trials with a direct connection; labels: direct/trials and median time from relayed to direct connection</text>`)
  out.push(`<text x="${left}" y="${top + plotH + 112}" fill="#444">peer-a's NAT ↔ peer-b's NAT; real nftables NAT routers in Linux network namespaces</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
