import type { Summary } from './scenario.js'

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Bar colours per direct path. */
const PATH_COLORS: Record<string, string> = { tcp: '#2b6cb0', webrtc: '#d69e2e', auto: '#2f855a' }

/** The conditions of a summary (one chart panel each); older reports lack them and get the defaults. */
export function panelKey (s: Partial<Summary>): string {
  return `inbound ${s.inbound ?? 'drop'} · delay ${s.delay ?? 'zero'} · loss ${s.lossPercent ?? 0}% · CPU ${s.cpuLoad === true ? 'loaded' : 'idle'}`
}

const PANEL_TOP = 30
const PLOT_H = 200
const PANEL_H = PANEL_TOP + PLOT_H + 50
const BAR_W = 30
const BAR_STEP = 36
const LEFT = 70

/** The opening lines of a chart page (svg element, white background, title and subtitle); the caller closes `</svg>`. */
function svgPage (width: number, height: number, title: string, subtitle?: string): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`
  ]
  if (subtitle != null) out.push(`<text x="${LEFT}" y="42" fill="#444">${esc(subtitle)}</text>`)
  return out
}

/**
 * A self-contained SVG chart of a matrix run: one panel per combination of
 * conditions (inbound behaviour, delay, loss, CPU load); in each, per NAT pair,
 * one bar per direct path for the direct-connection success rate, labelled
 * with direct/trials and the median time from relayed to direct connection.
 */
export function matrixSvg (summaries: Summary[], title: string, subtitle?: string): string {
  const panels = [...new Set(summaries.map(panelKey))]
  const scenarios = [...new Set(summaries.map(s => s.scenario))]
  const paths = [...new Set(summaries.map(s => s.transport))]
  const groupW = 24 + BAR_STEP * paths.length
  // ~9 px per character of the 16 px title, ~6.5 px of the 12 px subtitle
  const width = Math.ceil(Math.max(LEFT + scenarios.length * groupW + 30, 640, LEFT + title.length * 9, LEFT + (subtitle?.length ?? 0) * 6.5))
  const legendY = subtitle != null ? 56 : 36
  const top = legendY + 24
  const height = top + panels.length * PANEL_H + 80
  const out = svgPage(width, height, title, subtitle)
  paths.forEach((p, j) => {
    out.push(`<rect x="${LEFT + j * 110}" y="${legendY}" width="14" height="14" fill="${PATH_COLORS[p] ?? '#666'}"/>`)
    out.push(`<text x="${LEFT + j * 110 + 20}" y="${legendY + 12}">${esc(p)}</text>`)
  })
  panels.forEach((panel, k) => {
    const y0 = top + k * PANEL_H
    const y = (rate: number): number => y0 + PANEL_TOP + PLOT_H - rate * PLOT_H
    out.push(`<text x="${LEFT}" y="${y0 + 18}" font-weight="bold">${esc(panel)}</text>`)
    for (const r of [0, 0.5, 1]) {
      out.push(`<line x1="${LEFT}" x2="${width - 20}" y1="${y(r)}" y2="${y(r)}" stroke="#ddd"/>`)
      out.push(`<text x="${LEFT - 8}" y="${y(r) + 4}" text-anchor="end">${Math.round(r * 100)}%</text>`)
    }
    scenarios.forEach((sc, i) => {
      const x0 = LEFT + i * groupW + 12
      const cells = paths.map(p => summaries.find(s => s.scenario === sc && s.transport === p && panelKey(s) === panel))
      if (cells.every(c => c == null)) return
      cells.forEach((s, j) => {
        if (s == null) return
        const x = x0 + j * BAR_STEP
        out.push(`<rect x="${x}" y="${y(s.successRate)}" width="${BAR_W}" height="${Math.max(s.successRate * PLOT_H, 1)}" fill="${PATH_COLORS[s.transport] ?? '#666'}"><title>${esc(`${sc} ${s.transport}, ${panel}: ${s.direct}/${s.trials} direct`)}</title></rect>`)
        out.push(`<text x="${x + BAR_W / 2}" y="${y(s.successRate) - 14}" text-anchor="middle" font-size="10">${s.direct}/${s.trials}</text>`)
        out.push(`<text x="${x + BAR_W / 2}" y="${y(s.successRate) - 3}" text-anchor="middle" font-size="9" fill="#444">${s.medianTimeToDirectMs != null ? `${Math.round(s.medianTimeToDirectMs)}ms` : ''}</text>`)
      })
      const [a, b] = sc.split(':')
      const cx = x0 + (BAR_STEP * paths.length) / 2 - 3
      out.push(`<text x="${cx}" y="${y0 + PANEL_TOP + PLOT_H + 16}" text-anchor="middle" font-size="10">${esc(a)}</text>`)
      out.push(`<text x="${cx}" y="${y0 + PANEL_TOP + PLOT_H + 29}" text-anchor="middle" font-size="10">↔ ${esc(b)}</text>`)
    })
  })
  const foot = top + panels.length * PANEL_H + 20
  out.push(`<text x="${LEFT}" y="${foot}" fill="#444">bars: share of trials with a direct connection; labels: direct/trials and median time from relayed to direct connection</text>`)
  out.push(`<text x="${LEFT}" y="${foot + 16}" fill="#444">peer-a's NAT ↔ peer-b's NAT; real nftables NAT routers in Linux network namespaces; loss is per link and direction</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** One bar of a {@link barPanelsSvg} panel. */
export interface Bar {
  label: string
  value: number
  color?: string
}

/** One panel of a {@link barPanelsSvg} chart: bars of one measure, on their own scale. */
export interface BarPanel {
  title: string
  /** appended to each bar's value label */
  unit: string
  bars: Bar[]
}

const BAR_PANEL_W = 190

/**
 * A self-contained SVG of measures side by side: one panel per measure (each
 * on its own linear scale from 0), one labelled bar per series in it. The
 * matrix chart's page layout (title, subtitle, footnotes), for any figures.
 */
export function barPanelsSvg (panels: BarPanel[], title: string, subtitle?: string, notes: string[] = []): string {
  const perRow = Math.max(1, Math.min(panels.length, 4))
  const rows = Math.ceil(panels.length / perRow)
  const width = Math.ceil(Math.max(LEFT + perRow * BAR_PANEL_W + 20, 640, LEFT + title.length * 9, LEFT + (subtitle?.length ?? 0) * 6.5, ...notes.map(n => LEFT + n.length * 6.5)))
  const top = subtitle != null ? 60 : 40
  const height = top + rows * PANEL_H + 20 + notes.length * 16
  const out = svgPage(width, height, title, subtitle)
  panels.forEach((panel, k) => {
    const x0 = LEFT + (k % perRow) * BAR_PANEL_W
    const y0 = top + Math.floor(k / perRow) * PANEL_H
    const max = Math.max(...panel.bars.map(b => b.value), 0) || 1
    const base = y0 + PANEL_TOP + PLOT_H
    out.push(`<text x="${x0}" y="${y0 + 18}" font-weight="bold" font-size="11">${esc(panel.title)}</text>`)
    out.push(`<line x1="${x0}" x2="${x0 + BAR_PANEL_W - 30}" y1="${base}" y2="${base}" stroke="#999"/>`)
    panel.bars.forEach((b, j) => {
      const x = x0 + 10 + j * (BAR_STEP + 20)
      const h = Math.max((b.value / max) * (PLOT_H - 20), 1)
      out.push(`<rect x="${x}" y="${base - h}" width="${BAR_W + 10}" height="${h}" fill="${b.color ?? '#666'}"><title>${esc(`${panel.title}, ${b.label}: ${b.value} ${panel.unit}`)}</title></rect>`)
      out.push(`<text x="${x + (BAR_W + 10) / 2}" y="${base - h - 4}" text-anchor="middle" font-size="10">${esc(`${b.value}${panel.unit}`)}</text>`)
      out.push(`<text x="${x + (BAR_W + 10) / 2}" y="${base + 14}" text-anchor="middle" font-size="10">${esc(b.label)}</text>`)
    })
  })
  const foot = top + rows * PANEL_H + 10
  notes.forEach((n, i) => { out.push(`<text x="${LEFT}" y="${foot + i * 16}" fill="#444">${esc(n)}</text>`) })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
