import pc from 'picocolors'

export type Colors = ReturnType<typeof pc.createColors>

/**
 * Colours for one output stream: on only when it is a terminal and `NO_COLOR` is unset or empty
 * (https://no-color.org), so pipes, files and CI logs get plain text.
 */
export function colorsFor(stream: NodeJS.WriteStream, allowed = true): Colors {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
  return pc.createColors(allowed && stream.isTTY === true && !noColor)
}
