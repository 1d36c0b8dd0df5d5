// Part of `npm run build`: copy the files tsc does not compile (the dashboard's page, script and stylesheet)
// next to the compiled modules, so that dist/ is complete on its own (it is what the package ships).
import { cpSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
cpSync(`${root}node/status/dashboard`, `${root}dist/node/status/dashboard`, { recursive: true })
