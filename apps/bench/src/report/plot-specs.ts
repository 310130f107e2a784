import type { TopLevelSpec } from 'vega-lite'
import type { CallersRow, PeerRow, PublishedRow, ScaleRow } from './plot-data.js'

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'
const CALLERS = [1, 4, 16, 64, 256]
const WIDTH = 520

const logX = (field: string, title: string, values?: number[]) => ({
  field,
  type: 'quantitative' as const,
  title,
  scale: { type: 'log' as const },
  axis: values === undefined ? { format: '~s' } : { values, format: 'd' },
})

/** Throughput vs callers (min–max of the timed runs as a rule), then p50/p99 latency vs callers. */
export function callersSpec(rows: readonly CallersRow[]): TopLevelSpec {
  const latency = rows.flatMap((r) => [
    ...(r.p50Ms === undefined ? [] : [{ callers: r.callers, side: r.side, percentile: 'p50', ms: r.p50Ms }]),
    ...(r.p99Ms === undefined ? [] : [{ callers: r.callers, side: r.side, percentile: 'p99', ms: r.p99Ms }]),
  ])
  const x = {
    ...logX('callers', 'awaiting callers', CALLERS),
    scale: { type: 'log' as const, domain: [1, 256], nice: false },
  }
  const side = { field: 'side', type: 'nominal' as const, title: null, legend: { labelLimit: 300 } }
  return {
    $schema: SCHEMA,
    title: 'Transaction API (1 key + 1 event per tx, lmdb log, sync) vs raw lmdb-js',
    vconcat: [
      {
        width: WIDTH,
        height: 260,
        data: { values: [...rows] },
        layer: [
          {
            mark: { type: 'rule' },
            encoding: {
              x,
              y: { field: 'min', type: 'quantitative' },
              y2: { field: 'max' },
              color: { field: 'side' },
            },
          },
          {
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: {
                field: 'median',
                type: 'quantitative',
                title: 'transactions/s (median)',
                scale: { type: 'log' },
              },
              color: { field: 'side', type: 'nominal', title: null },
            },
          },
        ],
      },
      {
        width: WIDTH,
        height: 220,
        data: { values: latency },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'ms',
            type: 'quantitative',
            title: 'latency per tx, ms (p50 solid, p99 dashed)',
            scale: { type: 'log' },
          },
          color: side,
          // A dash legend would draw no stroke (the line's colour comes from \`side\`): the axis title says it.
          strokeDash: { field: 'percentile', type: 'nominal', legend: null, sort: ['p50', 'p99'] },
          detail: { field: 'percentile' },
        },
      },
    ],
  }
}

/** Throughput vs data size, one panel per metric (their units differ), log x. */
export function scaleSpec(rows: readonly ScaleRow[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Figures vs data size (events and keys)',
    data: { values: [...rows] },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } },
    },
    spec: {
      width: WIDTH,
      height: 140,
      mark: { type: 'line', point: true },
      encoding: {
        x: logX('events', 'events in the database'),
        y: { field: 'median', type: 'quantitative', title: 'per second (median)' },
        color: { field: 'side', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  }
}

/** `text` broken into lines of at most `width` characters at spaces, joined by `\n` (split again by the axis). */
function wrap(text: string, width: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines.join('\n')
}

/** Grouped bars per workload (log scale), then Azoth's figures next to the published ones. */
export function peersSpec(peers: readonly PeerRow[], published: readonly PublishedRow[]): TopLevelSpec {
  const label = { field: 'text', type: 'nominal' as const }
  const legend = { labelLimit: 320 }
  // A log scale has no zero: bars start from a power of ten below the smallest figure.
  const smallest = Math.min(...peers.map((p) => p.median))
  const base = 10 ** Math.floor(Math.log10(smallest > 0 ? smallest : 1))
  const peersPanel = {
    width: { step: 150 },
    height: 260,
    title: 'Emmett event-store API: Azoth vs Emmett’s own stores (same run, same calls)',
    data: {
      values: peers.map((p) => ({
        ...p,
        base,
        workload: wrap(p.workload, 24),
        text: Math.round(p.median).toLocaleString('en-US'),
      })),
    },
    encoding: {
      x: {
        field: 'workload',
        type: 'nominal',
        title: null,
        axis: { labelAngle: 0, labelLimit: 0, labelExpr: "split(datum.label, '\\n')" },
      },
      xOffset: { field: 'who', type: 'nominal' },
      y: {
        field: 'median',
        type: 'quantitative',
        title: 'per second (median, log)',
        scale: { type: 'log', domainMin: base, nice: true },
      },
      color: { field: 'who', type: 'nominal', title: null, legend },
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { y2: { field: 'base' } } },
      { mark: { type: 'text', dy: -6, fontSize: 9 }, encoding: { text: label } },
    ],
  }
  const publishedPanel = {
    width: WIDTH,
    height: 150,
    title: 'Azoth measured here next to figures others published (not measured here)',
    data: { values: [...published] },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: null, axis: { labelLimit: 400 } },
      color: { field: 'kind', type: 'nominal', title: null, legend },
    },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 6 },
        encoding: {
          x: { field: 'low', type: 'quantitative', title: 'per second (log)', scale: { type: 'log' } },
          x2: { field: 'high' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: { x: { field: 'high', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 8 },
        encoding: { x: { field: 'high', type: 'quantitative' }, text: label, color: { value: 'black' } },
      },
    ],
  }
  return {
    $schema: SCHEMA,
    title: 'Peers in the same run, and published figures',
    // Without peer figures the grouped bars would be an empty frame: only the published panel is drawn.
    vconcat: peers.length > 0 ? [peersPanel, publishedPanel] : [publishedPanel],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec
}
