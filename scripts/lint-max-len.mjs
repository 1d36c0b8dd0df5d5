// An ESLint rule, `chorus/max-len`: a line's code fits in `code` characters (default 120). The contents of
// string, template and regex literals do not count, and a line holding a URL is exempt: a long message or
// pattern stays whole and greppable, and the code around it is what gets wrapped.
//
// Why not @stylistic/max-len: its ignoreStrings / ignoreTemplateLiterals skip every line that holds any
// literal at all, so `if (…) { log('…'); return }` of 300 characters passes as long as it quotes one word.

const URL = /[^:/?#]:\/\/[^?#]/u
const LITERALS = new Set(['String', 'Template', 'RegularExpression'])

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'layout',
    docs: { description: 'limit the length of the code on a line, not counting the contents of literals' },
    schema: [{
      type: 'object',
      properties: { code: { type: 'integer', minimum: 1 } },
      additionalProperties: false
    }],
    messages: {
      long: 'This line has {{length}} characters of code outside literals; the limit is {{max}}: wrap it.'
    }
  },
  create (context) {
    const max = context.options[0]?.code ?? 120
    const { lines, ast } = context.sourceCode
    return {
      'Program:exit' () {
        /** columns of each long line that lie inside a literal, by 0-based line */
        const inLiteral = new Map()
        for (const token of ast.tokens) {
          if (!LITERALS.has(token.type)) continue
          for (let line = token.loc.start.line - 1; line < token.loc.end.line; line++) {
            if (lines[line].length <= max) continue
            const from = line === token.loc.start.line - 1 ? token.loc.start.column : 0
            const to = line === token.loc.end.line - 1 ? token.loc.end.column : lines[line].length
            inLiteral.set(line, (inLiteral.get(line) ?? 0) + [...lines[line].slice(from, to)].length)
          }
        }
        lines.forEach((text, line) => {
          if (text.length <= max || URL.test(text)) return
          const length = [...text].length - (inLiteral.get(line) ?? 0)
          if (length <= max) return
          context.report({
            loc: { start: { line: line + 1, column: 0 }, end: { line: line + 1, column: text.length } },
            messageId: 'long',
            data: { length, max }
          })
        })
      }
    }
  }
}
