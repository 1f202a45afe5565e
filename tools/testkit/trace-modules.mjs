// Records every module file a process loads and, at exit, writes their URLs
// (one a line) to the file named by NATKIT_TRACE_MODULES, then the Node
// built-ins it loaded as `node:<id>` (internal ones too, e.g.
// `node:internal/deps/undici/undici`). Used with
// `node --import <this file>` by tests that prove which code a role loads
// (e.g. `--help` loads no libp2p, a relay never loads WebRTC).
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'

const out = process.env.NATKIT_TRACE_MODULES
const loaded = new Set()
registerHooks({
  load (url, context, nextLoad) {
    if (url.startsWith('file:')) loaded.add(url)
    return nextLoad(url, context)
  }
})
if (out != null && out !== '') {
  process.on('exit', () => {
    // process.moduleLoadList: Node's own record, "NativeModule <id>" per built-in
    const builtins = process.moduleLoadList.filter(m => m.startsWith('NativeModule ')).map(m => `node:${m.slice('NativeModule '.length)}`)
    writeFileSync(out, [...loaded, ...builtins].join('\n') + '\n')
  })
}
