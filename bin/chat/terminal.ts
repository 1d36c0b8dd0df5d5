/**
 * The terminal of `chorus chat`, on Node's readline: a prompt line where the person types, and lines
 * printed above it as events arrive. Printing never breaks the line being typed: the prompt and the
 * partial line are cleared, the new line is written, and readline draws the prompt again with the
 * typed text and the cursor where they were (`prompt(true)`). Only readline's own cursor functions are
 * used, no escape codes of our own.
 *
 * When stdin or stdout is not a terminal (a script, a pipe), there is no prompt: lines are read and
 * written as they are.
 */

import { clearScreenDown, createInterface, cursorTo, moveCursor, type Completer, type Interface } from 'node:readline'

/** Lines of input history kept (arrow up). @default 200 */
export const HISTORY_SIZE = 200

/** What the terminal reports. */
export interface TerminalHandlers {
  /** a line was entered */
  line: (line: string) => void
  /** Ctrl-C */
  interrupt: () => void
  /** the input ended (Ctrl-D, end of a piped stdin) */
  end: () => void
}

export interface TerminalInit {
  input: NodeJS.ReadableStream & { isTTY?: boolean }
  output: NodeJS.WritableStream & { isTTY?: boolean, columns?: number }
  completer?: Completer
  handlers: TerminalHandlers
}

export class Terminal {
  /** true when both ends are a terminal: a prompt is shown and kept below printed lines */
  readonly interactive: boolean
  private readonly rl: Interface
  private readonly output: TerminalInit['output']
  private closed = false

  constructor (init: TerminalInit) {
    this.output = init.output
    this.interactive = init.input.isTTY === true && init.output.isTTY === true
    this.rl = createInterface({
      input: init.input,
      output: init.output,
      terminal: this.interactive,
      historySize: HISTORY_SIZE,
      prompt: '> ',
      ...(init.completer != null ? { completer: init.completer } : {})
    })
    this.rl.on('line', (line) => { init.handlers.line(line) })
    this.rl.on('SIGINT', () => { init.handlers.interrupt() })
    this.rl.on('close', () => { if (!this.closed) { this.closed = true; init.handlers.end() } })
  }

  /** Print `line` above the prompt, keeping whatever is typed on the prompt line. */
  print (line: string): void {
    if (this.closed || !this.interactive) { this.output.write(`${line}\n`); return }
    // back to where the prompt starts (a long typed line wraps over several rows) and clear from there
    const rows = this.rl.getCursorPos().rows
    moveCursor(this.output, 0, -rows)
    cursorTo(this.output, 0)
    clearScreenDown(this.output)
    // readline redraws by moving up as many rows as the cursor was below the prompt's start: leave them
    this.output.write(`${line}\n${'\n'.repeat(rows)}`)
    this.rl.prompt(true)
  }

  /** Set the prompt (it shows the current conversation) and draw it. */
  setPrompt (prompt: string): void {
    this.rl.setPrompt(prompt)
    if (this.interactive && !this.closed) this.rl.prompt(true)
  }

  /** Draw the prompt (after a line was entered). */
  prompt (): void {
    if (this.interactive && !this.closed) this.rl.prompt(true)
  }

  /**
   * Remove the line just entered (readline left it on screen above the cursor), so that the client can
   * print it formatted instead. `prompt` is the prompt it was typed after.
   */
  eraseEntered (prompt: string, line: string): void {
    if (!this.interactive || this.closed) return
    const columns = this.output.columns ?? 80
    const rows = Math.floor(([...prompt].length + [...line].length) / Math.max(1, columns)) + 1
    moveCursor(this.output, 0, -rows)
    cursorTo(this.output, 0)
    clearScreenDown(this.output)
  }

  /** Give the terminal back (its normal mode) and stop reading. */
  close (): void {
    if (this.closed) return
    if (this.interactive) {
      // take the prompt (and anything half typed) off the screen: what follows is plain output
      moveCursor(this.output, 0, -this.rl.getCursorPos().rows)
      cursorTo(this.output, 0)
      clearScreenDown(this.output)
    }
    this.closed = true
    this.rl.close()
  }
}
