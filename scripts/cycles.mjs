// `npm run cycles` (and the first step of `npm test`): exits 1 when any module reaches itself again through
// its imports. Type-only imports count (`import type`, `export type … from`, `import('…')` in a type): they
// close a cycle for a reader, who cannot understand one file without the other, as much as a value import does.
//
// madge reads the imports (TypeScript's parser; tsconfig.test.json to resolve `./x.js` to `x.ts`); the
// cycles are the strongly connected components of that graph, so each tangle is reported once, whole, with
// one concrete loop through it. An import that does not resolve to a file is an error too: the graph would
// miss its edges and could hide a cycle.
//
// Usage: node scripts/cycles.mjs [DIR …]   (default: node protocol bin bench test)

import { resolve, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import madge from 'madge'

const root = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_DIRS = ['node', 'protocol', 'bin', 'bench', 'test']

const dirs = (process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_DIRS.map((d) => resolve(root, d)))
const result = await madge(dirs, {
  fileExtensions: ['ts'],
  tsConfig: resolve(root, 'tsconfig.test.json'),
  // madge's defaults, spelt out because they are the point: type-only and dynamic imports are edges
  detectiveOptions: { ts: { skipTypeImports: false, skipAsyncImports: false } }
})

const graph = result.obj()
const modules = Object.keys(graph)
const unresolved = result.warnings().skipped.filter((dep) => dep.startsWith('.'))
const tangles = stronglyConnected(graph).filter((c) => c.length > 1 || graph[c[0]].includes(c[0]))
const name = (file) => relative(process.cwd(), resolve(result.config.baseDir ?? process.cwd(), file))

let failed = false
if (modules.length === 0) {
  console.error(`cycles: no TypeScript modules under ${dirs.join(', ')}`)
  failed = true
}
if (unresolved.length > 0) {
  console.error(`cycles: imports that resolve to no file (the check cannot see past them): ${unresolved.join(', ')}`)
  failed = true
}
for (const tangle of tangles) {
  const loop = result.circular().find((c) => tangle.includes(c[0])) ?? tangle
  console.error(`cycles: ${tangle.length} modules import each other:\n  ${tangle.map(name).sort().join('\n  ')}\n  for one: ${[...loop, loop[0]].map(name).join(' → ')}`)
  failed = true
}
if (tangles.length > 0) console.error(`cycles: ${tangles.length} import cycle(s), ${tangles.reduce((n, t) => n + t.length, 0)} modules in them`)
if (failed) process.exit(1)
console.log(`cycles: none among ${modules.length} modules (type-only imports counted)`)

/** Tarjan's strongly connected components of `graph` (module → the modules it imports). */
function stronglyConnected (graph) {
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const components = []
  const visit = (v) => {
    index.set(v, index.size)
    low.set(v, index.get(v))
    stack.push(v)
    onStack.add(v)
    for (const w of graph[v] ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)))
      }
    }
    if (low.get(v) !== index.get(v)) return
    const component = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    components.push(component)
  }
  for (const v of Object.keys(graph)) if (!index.has(v)) visit(v)
  return components
}
