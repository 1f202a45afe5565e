export { parseArgs } from './options.js'
