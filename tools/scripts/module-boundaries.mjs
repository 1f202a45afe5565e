// ESLint rule natkit/enforce-module-boundaries: Nx-style dependency constraints between
// workspace projects, driven by the `nx.tags` of each package.json (the same option
// shape as @nx/enforce-module-boundaries, whose plugin would pull in @nx/js, Babel and a
// second Nx). An import of another project, by its package name (`@natkit/x`, `@natkit/x/sub`),
// is allowed only when the target has one of the tags its source's constraint lists; a
// relative path that leaves the importing project into another is never allowed (the Nx
// project graph and package.json cannot see it: import the project by its package name).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
const WORKSPACE_GROUPS = ['packages', 'apps', 'tools', 'examples']

/** Workspace projects (directories with a package.json) by name and by root. */
function loadProjects () {
  const byName = new Map()
  const byRoot = new Map()
  for (const group of WORKSPACE_GROUPS) {
    for (const d of readdirSync(join(ROOT, group))) {
      const pj = join(ROOT, group, d, 'package.json')
      if (!existsSync(pj)) continue
      const pkg = JSON.parse(readFileSync(pj, 'utf8'))
      const project = { name: pkg.name, root: join(ROOT, group, d), tags: pkg.nx?.tags ?? [] }
      byName.set(project.name, project)
      byRoot.set(project.root, project)
    }
  }
  return { byName, byRoot }
}

let projects
function owner (file) {
  projects ??= loadProjects()
  for (let d = dirname(file); d.startsWith(ROOT) && d !== ROOT; d = dirname(d)) {
    const p = projects.byRoot.get(d)
    if (p != null) return p
  }
  return undefined
}

function target (specifier, file) {
  projects ??= loadProjects()
  if (specifier.startsWith('.')) return owner(resolve(dirname(file), specifier) + sep + 'x')
  const m = /^(@[^/]+\/[^/]+|[^@/][^/]*)/.exec(specifier)
  return m == null ? undefined : projects.byName.get(m[1])
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports between workspace projects must follow the nx tag constraints' },
    schema: [{
      type: 'object',
      properties: {
        depConstraints: {
          type: 'array',
          items: {
            type: 'object',
            properties: { sourceTag: { type: 'string' }, onlyDependOnLibsWithTags: { type: 'array', items: { type: 'string' } } },
            required: ['sourceTag', 'onlyDependOnLibsWithTags'],
            additionalProperties: false
          }
        }
      },
      required: ['depConstraints'],
      additionalProperties: false
    }],
    messages: {
      notAllowed: '{{source}} ({{sourceTags}}) may not import {{target}} ({{targetTags}}): a project tagged "{{sourceTag}}" may only depend on projects tagged {{allowed}}',
      untagged: '{{source}} has no nx tag matched by a depConstraint (tags: {{sourceTags}})',
      relative: '{{source}} imports {{target}} by the relative path "{{specifier}}": import it by its package name ({{target}}) and declare it in package.json, so the project graph sees the dependency'
    }
  },
  create (context) {
    const { depConstraints } = context.options[0]
    const source = owner(context.filename)
    if (source == null) return {}
    const constraints = depConstraints.filter(c => source.tags.includes(c.sourceTag))
    const check = (node, specifier) => {
      if (typeof specifier !== 'string') return
      const to = target(specifier, context.filename)
      if (to == null || to === source) return
      if (specifier.startsWith('.')) {
        context.report({ node, messageId: 'relative', data: { source: source.name, target: to.name, specifier } })
        return
      }
      if (constraints.length === 0) {
        context.report({ node, messageId: 'untagged', data: { source: source.name, sourceTags: source.tags.join(', ') } })
        return
      }
      for (const c of constraints) {
        if (c.onlyDependOnLibsWithTags.some(t => to.tags.includes(t))) continue
        context.report({
          node,
          messageId: 'notAllowed',
          data: {
            source: source.name,
            sourceTags: source.tags.join(', '),
            target: to.name,
            targetTags: to.tags.join(', '),
            sourceTag: c.sourceTag,
            allowed: c.onlyDependOnLibsWithTags.map(t => `"${t}"`).join(' or ')
          }
        })
        return
      }
    }
    return {
      ImportDeclaration: node => { check(node.source, node.source.value) },
      ExportNamedDeclaration: node => { if (node.source != null) check(node.source, node.source.value) },
      ExportAllDeclaration: node => { check(node.source, node.source.value) },
      ImportExpression: node => { if (node.source.type === 'Literal') check(node.source, node.source.value) }
    }
  }
}

export default { meta: { name: 'natkit' }, rules: { 'enforce-module-boundaries': rule } }
