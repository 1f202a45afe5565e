/**
 * Vitest helpers (test files only: this module imports vitest).
 */
import { it } from 'vitest'
import { MissingPrerequisiteError, isCi } from './ci.js'

/**
 * Whether to skip tests whose prerequisite is missing, for
 * `describe.skipIf(missingPrerequisite(reason))`. `reason` is undefined when
 * everything is there. Outside CI a missing prerequisite is a skip with a
 * note on stderr; under CI=true it adds a failing test naming what is
 * missing instead (the real tests are not run, which would only fail with a
 * less clear error), so CI never goes green by skipping.
 */
export function missingPrerequisite (reason: string | undefined): boolean {
  if (reason == null) return false
  if (isCi()) {
    it(`has its prerequisites: ${reason}`, () => {
      throw new MissingPrerequisiteError(`CI=true but ${reason}: a missing prerequisite is an error in CI, not a skip`)
    })
  } else {
    process.stderr.write(`[skipped: ${reason}; with CI=true this is an error]\n`)
  }
  return true
}
