/**
 * Gossipsub topics of live chat. Direct messages travel on one of a fixed number of inbox shards,
 * chosen by a hash of the recipient's id: the topic count does not grow with users and a topic does not
 * name its user (Waku's shards). A room has a topic of its own.
 */

import { createHash } from 'node:crypto'

/** Inbox shards. Changing this is a protocol break (every node must agree where a user listens). */
export const INBOX_SHARDS = 64

const INBOX_PREFIX = '/chorus/inbox/1/'
const ROOM_PREFIX = '/chorus/room/1/'

/** The inbox shard of a user id. */
export function inboxShard (userId: string): number {
  const h = createHash('sha256').update('chorus/inbox/v1').update(userId).digest()
  return h.readUInt16BE(0) % INBOX_SHARDS
}

/** The inbox topic of a shard. */
export function inboxTopic (shard: number): string {
  return `${INBOX_PREFIX}${shard}`
}

/** The inbox topic where `userId` listens. */
export function inboxTopicOf (userId: string): string {
  return inboxTopic(inboxShard(userId))
}

/** Every inbox topic. */
export function inboxTopics (): string[] {
  return Array.from({ length: INBOX_SHARDS }, (_, i) => inboxTopic(i))
}

/** The topic of a room. */
export function roomTopic (roomId: string): string {
  return `${ROOM_PREFIX}${roomId}`
}

/** What a topic is: an inbox shard, a room, or neither. */
export function parseTopic (topic: string): { kind: 'inbox', shard: number } | { kind: 'room', roomId: string } | undefined {
  if (topic.startsWith(INBOX_PREFIX)) {
    const s = topic.slice(INBOX_PREFIX.length)
    const shard = Number(s)
    return /^\d{1,3}$/.test(s) && shard < INBOX_SHARDS ? { kind: 'inbox', shard } : undefined
  }
  if (topic.startsWith(ROOM_PREFIX)) return { kind: 'room', roomId: topic.slice(ROOM_PREFIX.length) }
  return undefined
}
