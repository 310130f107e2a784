import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

/**
 * Renders a Vega-Lite spec to an SVG document headless: Vega's 'none' renderer computes the scene
 * and writes SVG text itself, so no canvas or browser is needed.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
