/**
 * @packageDocumentation
 *
 * Finds the runnable example of a package README: the first ```ts block
 * under its `## Example` heading. The README is the only copy of the
 * example; test/readmes.test.ts type-checks and runs what this returns.
 */

/** The heading whose first TypeScript block is the README's runnable example. */
export const EXAMPLE_HEADING = '## Example'

export class NoReadmeExampleError extends Error {
  static override name = 'NoReadmeExampleError'
  override name = 'NoReadmeExampleError'
}

/** The code of the first ```ts (or ```typescript) block after `## Example`, before the next `## ` heading. */
export function extractExample (markdown: string, source = 'README'): string {
  const lines = markdown.split(/\r?\n/)
  const start = lines.findIndex(l => l.trim() === EXAMPLE_HEADING)
  if (start < 0) throw new NoReadmeExampleError(`${source} has no "${EXAMPLE_HEADING}" section`)
  for (let i = start + 1; i < lines.length && !lines[i].startsWith('## '); i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'))
    if (end < 0) throw new NoReadmeExampleError(`${source}: the example's code block is not closed`)
    return lines.slice(i + 1, end).join('\n') + '\n'
  }
  throw new NoReadmeExampleError(`${source}: no \`\`\`ts block under "${EXAMPLE_HEADING}"`)
}
