/** Whether this run is CI (`CI=true`, as .ci/run is started): missing prerequisites are errors there. */
export function isCi (env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase()
  return v != null && v !== '' && v !== 'false' && v !== '0'
}

/** A test prerequisite (root, a tool, Docker, …) is missing where it must not be (CI). */
export class MissingPrerequisiteError extends Error {
  static override name = 'MissingPrerequisiteError'
  override name = 'MissingPrerequisiteError'
}
