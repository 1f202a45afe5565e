export { parseArgs, BOOTSTRAP_ROLE, BOOTSTRAP_CLI, type BootstrapOptions } from './options.js'
