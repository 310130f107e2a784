import type { BenchReport } from '../bench-report.js'
import type { PlotOutcome } from './benchmarks-md.js'
import { callersRows, PEER_SECTIONS, peerRows, publishedRows, scaleRows } from './plot-data.js'
import { callersSpec, peersSpec, scaleSpec } from './plot-specs.js'
import { renderSvg } from './svg.js'

/** A plot of the report and, unless it is absent, its SVG. */
export interface RenderedPlot {
  /** File name inside the plots directory. */
  file: string
  outcome: PlotOutcome
  svg?: string
}

const has = (report: BenchReport, name: string) => report.sections.some((s) => s.name === name)

/**
 * Draws the report's plots from the results. A plot whose data is not in the results is returned
 * absent with the reason (a section not run, or one that produced no figure), never drawn empty.
 * `linkDir` is the plots directory relative to BENCHMARKS.md.
 */
export async function renderPlots(report: BenchReport, linkDir: string): Promise<RenderedPlot[]> {
  const plots: RenderedPlot[] = []
  const add = async (
    file: string,
    title: string,
    caption: string,
    absent: string | undefined,
    draw: () => Parameters<typeof renderSvg>[0],
  ) => {
    const outcome: PlotOutcome = { title, caption, path: `${linkDir}/${file}` }
    if (absent !== undefined) {
      outcome.absent = absent
      plots.push({ file, outcome })
    } else plots.push({ file, outcome, svg: await renderSvg(draw()) })
  }

  const callers = callersRows(report)
  await add(
    'callers.svg',
    'Throughput and latency vs callers',
    'Each caller awaits its own transactions one after another (`azoth` section, lmdb event log, `durability: ' +
      "'sync'`). Top: median transactions/s, the vertical rule spanning the slowest and fastest timed run; raw " +
      'lmdb-js does the same puts in one `env.transaction()` per transaction. Bottom: per-transaction latency ' +
      'p50/p99 over the timed runs. Throughput should grow with callers (they share group commits) while latency ' +
      'stays near one commit.',
    callers.length > 0 ? undefined : 'the results have no Transaction API figures from the `azoth` section.',
    () => callersSpec(callers),
  )

  const scale = scaleRows(report)
  await add(
    'scale.svg',
    'Figures vs data size',
    'The `scale` section at 10^4 … 10^7 events and keys, one panel per metric (units differ, so each has its own ' +
      'y axis; log x axis). A flat line means the figure holds as the database grows.',
    scale.length > 0
      ? undefined
      : has(report, 'scale')
        ? 'the `scale` section ran but produced no figure with `params.events` and `params.metric`.'
        : 'the `scale` section is absent from these results (not run, or not in this checkout).',
    () => scaleSpec(scale),
  )

  const peers = peerRows(report)
  const published = publishedRows(report)
  const absentPeers = PEER_SECTIONS.filter((p) => !has(report, p.section)).map((p) => `\`${p.section}\``)
  const notes = [
    absentPeers.length > 0 ? `Not in these results: ${absentPeers.join(', ')}.` : undefined,
    peers.missing.length > 0 ? `No figure (no bar): ${peers.missing.join('; ')}.` : undefined,
  ].filter((s) => s !== undefined)
  await add(
    'peers.svg',
    'Peers side by side',
    'Top: the Emmett event-store API on Azoth (`@azothdb/emmett`) against Emmett’s own SQLite and PostgreSQL ' +
      'stores, same calls in the same run, each side with its default durability (see the `emmett` tables for the ' +
      'settings), log scale. Bottom: Azoth’s 1-caller Transaction API and `db.events()` figures from this run next ' +
      'to figures others published (8,849 tx/s for the reference’s single-threaded Transaction API, 11,243 tx/s for ' +
      'its state writes; VarveDB’s 2.3–2.9M events/s reads): those were published, not measured here, on other ' +
      `machines. ${notes.join(' ')}`.trim(),
    peers.rows.length > 0 || published.some((r) => r.kind === 'measured here')
      ? undefined
      : 'the results have neither peer sections (`emmett`, `emmett-postgres`) nor the Azoth figures the published ones answer.',
    () => peersSpec(peers.rows, published),
  )
  return plots
}
