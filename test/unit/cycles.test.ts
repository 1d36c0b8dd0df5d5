import { strict as assert } from 'node:assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../../scripts/cycles.mjs', import.meta.url))

/** Run the cycle check (scripts/cycles.mjs) on a folder of the given files. */
function check (files: Record<string, string>): { status: number | null, output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-cycles-'))
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true })
      writeFileSync(join(dir, name), text)
    }
    const run = spawnSync(process.execPath, [script, dir], { encoding: 'utf8', timeout: 60_000 })
    return { status: run.status, output: run.stdout + run.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('the import cycle check (npm run cycles)', () => {
  it('passes a graph without cycles', () => {
    const r = check({
      'a.ts': "import type { B } from './b.js'\nexport interface A { b: B }\n",
      'b.ts': 'export interface B { n: number }\n'
    })
    assert.equal(r.status, 0, r.output)
    assert.match(r.output, /none among 2 modules/)
  })

  it('fails on a cycle closed by type-only imports, naming every module in it', () => {
    const r = check({
      'a.ts': "import type { B } from './b.js'\nexport interface A { b?: B }\n",
      'b.ts': "import { type C } from './sub/c.js'\nexport interface B { c?: C }\n",
      'sub/c.ts': "export type C = import('../a.js').A\n",
      'd.ts': "import type { A } from './a.js'\nexport type D = A\n"
    })
    assert.equal(r.status, 1, r.output)
    assert.match(r.output, /3 modules import each other/)
    for (const m of ['a.ts', 'b.ts', 'sub/c.ts']) assert.ok(r.output.includes(m), `${m} in ${r.output}`)
    assert.ok(!r.output.includes('d.ts'), 'd.ts imports the cycle but is not in it')
  })

  it('fails on an import that resolves to no file (it could hide a cycle)', () => {
    const r = check({ 'a.ts': "import type { B } from './missing.js'\nexport type A = B\n" })
    assert.equal(r.status, 1, r.output)
    assert.match(r.output, /resolve to no file.*: \.\/missing\.js/)
  })
})
