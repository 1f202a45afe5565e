export { parseArgs, AUTONAT_ROLE, AUTONAT_CLI, type AutonatOptions } from './options.js'
