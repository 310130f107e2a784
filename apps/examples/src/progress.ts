import { Presets, SingleBar } from 'cli-progress'

/**
 * A progress bar on stderr for a long step of the demo. On a terminal it redraws in place; when
 * stderr is not a terminal (CI, pipes) cli-progress draws nothing and the step prints its result
 * line as usual.
 */
export class Progress {
  private readonly bar: SingleBar

  constructor(label: string, total: number) {
    this.bar = new SingleBar(
      {
        format: `${label.padEnd(22)} [{bar}] {percentage}% | {value}/{total} {unit} | {rate}/s`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    )
    this.bar.start(total, 0, { unit: '', rate: 0 })
    this.started = performance.now()
  }

  private readonly started: number

  /** Moves the bar to `value`; `unit` names what is counted. */
  update(value: number, unit = ''): void {
    const seconds = (performance.now() - this.started) / 1000
    this.bar.update(value, { unit, rate: seconds > 0 ? Math.round(value / seconds) : 0 })
  }

  stop(): void {
    this.bar.stop()
  }
}
