// Refuses to continue on a Node.js older than 22 with one clear line.
// libp2p 3.x needs Promise.withResolvers (Node >= 22). `npm ci` installs the
// `node` devDependency (Node 24) into node_modules/.bin, which npm scripts use first;
// `npm ci --ignore-scripts` skips that install and leaves the system Node in charge.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`natkit: Node.js ${process.versions.node} is too old; natkit needs Node >= 22.`)
  console.error('natkit: run `npm ci` (without --ignore-scripts) so node_modules/.bin/node (Node 24) is installed, then use npm scripts or npx.')
  process.exit(1)
}
