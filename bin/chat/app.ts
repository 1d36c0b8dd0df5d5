/**
 * The running `chorus chat`: one signed-in user, the terminal, and the current conversation. Lines
 * typed are handled one at a time, in order (a `/msg bob` must have switched before the next plain
 * line goes out); sends go through a queue of their own, so that waiting for owners to acknowledge a
 * message never holds up the next command, while messages still leave in the order they were typed.
 */

import type { Message, User } from '../../node/index.js'
import type { ClientSession } from '../client-session.js'
import { ChatCommandError } from './errors.js'
import { clean, clock, describe, excerpt } from './format.js'
import { Ticks, Unread, keyOf, keyOfMessage, labelOf, roomLabel, type Conversation, type Tick } from './state.js'
import { Terminal } from './terminal.js'

/** Messages of history shown when a conversation is opened. @default 10 */
export const OPEN_HISTORY = 10

/** Longest line accepted, in characters (a message is at most 64 KiB on the wire anyway). @default 16000 */
export const MAX_LINE_CHARS = 16_000

/** How long quitting waits for messages still being sent, then for the node to stop. @default 10000 */
export const QUIT_WAIT_MS = 10_000

/** What a command or an event handler may do to the client. */
export interface ChatAppInit {
  session: ClientSession
  input: NodeJS.ReadableStream & { isTTY?: boolean }
  output: NodeJS.WritableStream & { isTTY?: boolean, columns?: number }
  /** runs one command line (a line starting with '/'); commands.ts */
  command: (app: ChatApp, line: string) => Promise<void>
  /** completes a partly typed line (readline's completer) */
  complete?: (app: ChatApp, line: string) => [string[], string]
}

export class ChatApp {
  readonly user: User
  readonly ticks = new Ticks()
  readonly unread = new Unread()
  private conversation?: Conversation
  private readonly term: Terminal
  private lines: Promise<void> = Promise.resolve()
  private sends: Promise<void> = Promise.resolve()
  private sending = 0
  private quitting?: Promise<number>
  private finish!: (code: number) => void
  private readonly finished = new Promise<number>((resolve) => { this.finish = resolve })

  constructor (private readonly init: ChatAppInit) {
    this.user = init.session.user
    const complete = init.complete
    this.term = new Terminal({
      input: init.input,
      output: init.output,
      ...(complete != null ? { completer: (line: string) => complete(this, line) } : {}),
      handlers: {
        line: (line) => { this.entered(line) },
        interrupt: () => { void this.quit() },
        // a piped stdin that ends: finish what it asked for, then stop
        end: () => { this.lines = this.lines.then(async () => { await this.quit() }) }
      }
    })
  }

  /** The handle this client is signed in as. */
  get me (): string { return this.user.handle }

  /** Where plain lines go, if anywhere. */
  get current (): Conversation | undefined { return this.conversation }

  /** Sends not acknowledged (or failed) yet. */
  get pendingSends (): number { return this.sending }

  /** Show the prompt and run until /quit, Ctrl-C, SIGTERM or the end of the input; resolves with the exit code. */
  async run (): Promise<number> {
    const stop = (): void => { void this.quit() }
    process.on('SIGTERM', stop)
    process.on('SIGHUP', stop)
    // Ctrl-C reaches readline as a key while the terminal is raw; as a signal when stdin is not a terminal
    process.on('SIGINT', stop)
    this.term.setPrompt('> ')
    try {
      return await this.finished
    } finally {
      process.off('SIGTERM', stop)
      process.off('SIGHUP', stop)
      process.off('SIGINT', stop)
    }
  }

  /** Print one line above the prompt. */
  print (line: string): void { this.term.print(line) }

  /** Print a time-stamped line. */
  say (text: string): void { this.print(`${clock()} ${text}`) }

  /** Print a time-stamped line about something that went wrong (the client goes on). */
  warn (text: string): void { this.print(`${clock()} ! ${text}`) }

  /** Make `c` the current conversation: the prompt shows it, its recent history is shown, what was unread is read. */
  async open (c: Conversation, o: { history?: boolean } = {}): Promise<void> {
    const same = this.conversation != null && keyOf(this.conversation) === keyOf(c)
    this.conversation = c
    this.term.setPrompt(`[${labelOf(c)}] > `)
    if (same) return
    this.say(`── ${labelOf(c)}: plain lines go here now ──`)
    // the conversation is open even when its history cannot be read now (a message typed next still goes)
    if (o.history !== false) {
      await this.showHistory(OPEN_HISTORY).catch((err) => { this.warn(`no history of ${labelOf(c)} now: ${describe(err)}`) })
    }
    const unread = this.unread.take(keyOf(c))
    if (unread.length > 0) this.user.markRead(unread)
  }

  /** Forget the current conversation (the room was left, say). */
  close (): void {
    this.conversation = undefined
    this.term.setPrompt('> ')
  }

  /** Print the newest `limit` messages of the current conversation. */
  async showHistory (limit: number): Promise<void> {
    const c = this.need()
    const label = labelOf(c)
    let messages: Array<Pick<Message, 'from' | 'text' | 'timestamp' | 'kind'>>
    if (c.kind === 'dm') messages = await this.user.history(c.handle, { limit })
    else if (c.kind === 'room') messages = await c.room.history({ limit })
    else messages = (await c.chat.history()).slice(-limit)
    if (messages.length === 0) { this.say(`── ${label}: no messages yet ──`); return }
    this.say(`── ${label}: the last ${messages.length} message${messages.length === 1 ? '' : 's'} ──`)
    for (const m of messages) this.print(messageLine(m, label))
    this.say(`── ${label}: end of history ──`)
  }

  /** The current conversation, or a `ChatCommandError` saying how to pick one. */
  need (): Conversation {
    if (this.conversation == null) throw new ChatCommandError('no conversation yet: /msg HANDLE TEXT, /join ROOM or /secret HANDLE first')
    return this.conversation
  }

  /**
   * Show `text` as sent at once, then send it (in order with earlier sends) and show its tick when W owners have it.
   */
  send (c: Conversation, text: string): void {
    const label = labelOf(c)
    this.print(messageLine({ from: this.me, text, timestamp: Date.now(), kind: 'chat' }, label))
    this.sending++
    this.sends = this.sends.then(async () => {
      try {
        const r = c.kind === 'dm'
          ? await this.user.send(c.handle, text)
          : c.kind === 'room' ? await c.room.send(text) : await c.chat.send(text)
        this.say(`[${label}] ✓ sent ${excerpt(text)} (on ${r.storedOn.length} servers)`)
        for (const t of this.ticks.acknowledged(r.id, label, text)) this.tick(t)
      } catch (err) {
        this.warn(`[${label}] not sent ${excerpt(text)}: ${describe(err)}`)
      } finally {
        this.sending--
      }
    })
  }

  /** Show a receipt's tick. */
  tick (t: Tick): void {
    const what = t.status === 'read' ? `read by ${clean(t.by, 64)}` : `delivered to ${clean(t.by, 64)}`
    this.say(`[${t.label}] ✓✓ ${what}: ${excerpt(t.text)}`)
  }

  /**
   * A message arrived (shown by the caller): read at once when its conversation is open, else kept
   * unread until it is. With no conversation open yet, the first message opens its own.
   */
  async arrived (m: Message): Promise<void> {
    const key = keyOfMessage(m)
    if (this.conversation == null) {
      const c = await this.conversationOf(m)
      if (c != null && this.conversation == null) await this.open(c, { history: false })
    }
    if (this.conversation != null && keyOf(this.conversation) === key) this.user.markRead(m)
    else this.unread.add(key, m)
  }

  /** The label of a received message's conversation. */
  labelOfMessage (m: Message): string {
    if (m.kind === 'groupchat' && m.room != null) return roomLabel(this.user.rooms.get(m.room)?.name ?? m.room)
    if (m.kind === 'secret') return `secret ${clean(m.from, 64)}`
    return clean(m.from, 64)
  }

  /** Stop: wait (a while) for sends in flight, give the terminal back, stop the node. Resolves with the exit code. */
  async quit (): Promise<number> {
    this.quitting ??= (async () => {
      if (this.sending > 0) this.say(`waiting for ${this.sending} message${this.sending === 1 ? '' : 's'} to be acknowledged…`)
      await within(QUIT_WAIT_MS, this.sends)
      this.term.close()
      this.say('stopping…')
      let code = 0
      try {
        await within(QUIT_WAIT_MS, this.init.session.close(), true)
        this.print('stopped')
      } catch (err) {
        this.print(`chorus: error: stop failed: ${describe(err)}`)
        code = 1
      }
      this.finish(code)
      return code
    })()
    return this.quitting
  }

  private entered (line: string): void {
    const prompt = this.conversation == null ? '> ' : `[${labelOf(this.conversation)}] > `
    const text = line.trim()
    if (text === '') { this.term.prompt(); return }
    // a message is printed formatted (with its sender and time) once it is handled: not twice. A plain
    // line with nowhere to go stays, beside the error that says so.
    const message = text.startsWith('/') && !text.startsWith('//') ? /^\/msg\s+\S+\s+\S/.test(text) : this.conversation != null
    if (message) this.term.eraseEntered(prompt, line)
    this.term.prompt()
    this.lines = this.lines.then(async () => {
      if (this.quitting != null) return
      try {
        await this.handle(line)
      } catch (err) {
        this.warn(describe(err))
      }
    })
  }

  private async handle (line: string): Promise<void> {
    if (line.length > MAX_LINE_CHARS) throw new ChatCommandError(`line too long (${line.length} characters; at most ${MAX_LINE_CHARS})`)
    const text = line.trim()
    if (text.startsWith('/') && !text.startsWith('//')) { await this.init.command(this, text); return }
    // '//' sends a line that starts with '/'
    this.send(this.need(), text.startsWith('//') ? text.slice(1) : text)
  }

  private async conversationOf (m: Message): Promise<Conversation | undefined> {
    if (m.kind === 'groupchat' && m.room != null) {
      const room = this.user.rooms.get(m.room)
      return room == null ? undefined : { kind: 'room', room }
    }
    if (m.kind === 'secret') return { kind: 'secret', chat: await this.user.secret.open(m.from) }
    if (m.kind === 'chat' || m.kind === 'headline') return { kind: 'dm', handle: m.from }
    return undefined
  }
}

/** One message as a line: time, conversation, sender, text. */
export function messageLine (m: Pick<Message, 'from' | 'text' | 'timestamp' | 'kind'>, label: string): string {
  const flag = m.kind === 'headline' ? ' (headline)' : m.kind === 'error' ? ' (error)' : ''
  return `${clock(m.timestamp)} [${label}] ${clean(m.from, 64)}${flag}: ${clean(m.text)}`
}

/** `p`, or after `ms` give up waiting: resolve (or, with `fail`, reject). */
async function within (ms: number, p: Promise<unknown>, fail = false): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => { fail ? reject(new Error(`took longer than ${ms} ms`)) : resolve() }, ms)
  })
  try {
    // waiting for sends: their failures were shown already; stopping the node: a failure is the answer
    await Promise.race([fail ? p.then(() => {}) : p.then(() => {}, () => {}), timeout])
  } finally {
    clearTimeout(timer)
  }
}
