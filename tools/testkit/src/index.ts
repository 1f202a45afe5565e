/**
 * @packageDocumentation
 *
 * What natkit's own test runs rely on:
 * - {@link Sandbox}: the no-egress network namespace `npm test` runs the suite in
 *   (tools/scripts/test-all.mjs), whose only route leads to a sink that counts
 *   and drops every packet;
 * - {@link assertFreshBuild}: refuses to spawn a workspace binary from a dist/
 *   older than its src/ (used by every test or tool that spawns one);
 * - {@link isCi}: under CI=true a missing prerequisite is an error, not a skip
 *   (the vitest side is in `@natkit/testkit/vitest`).
 */
export * from './sandbox.js'
export * from './freshness.js'
export * from './ci.js'

/**
 * A `node --import` hook that lets plain `node` (type stripping) run the
 * workspace's TypeScript sources: `./x.js` imports that do not exist resolve
 * to `./x.ts`. For children of tests that must run src/, not dist/.
 */
export const TS_HOOKS = new URL('../ts-hooks.mjs', import.meta.url).pathname
