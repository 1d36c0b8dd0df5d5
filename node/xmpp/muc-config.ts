/**
 * A room's configuration as XEP-0045 forms (XEP-0004 data forms): the owner form (`muc#owner`,
 * `muc#roomconfig`, §10.1–10.2) and the room information form of disco#info (`muc#roominfo`, §15.5.4),
 * mapped onto Chorus room settings (protocol/room.ts `RoomSettings`).
 *
 * | field                           | Chorus setting                                  |
 * |---------------------------------|-------------------------------------------------|
 * | muc#roomconfig_roomname         | name                                            |
 * | muc#roomconfig_roomdesc         | description                                     |
 * | muc#roomconfig_membersonly      | not public (joining needs an invitation)        |
 * | muc#roomconfig_publicroom       | listed (in disco#items of the conference service) |
 * | muc#roomconfig_persistentroom   | always on: a Chorus room's logs are replicated; off is refused |
 * | muc#roomconfig_moderatedroom    | moderated (only owners and admins post)         |
 * | muc#roomconfig_allowinvites     | who may invite: any member, or owners and admins |
 *
 * Fields a client sends that are not in the table are ignored (XEP-0045 lets a service ignore what it
 * does not offer); a value out of bounds is refused with `not-acceptable`, and nothing changes.
 */

import xml, { type Element } from '@xmpp/xml'
import { MAX_ROOM_DESCRIPTION_LENGTH, MAX_ROOM_NAME_LENGTH, type RoomSettings } from '../../protocol/room.js'
import { StanzaError } from './errors.js'
import { NS_DATA, NS_MUC_OWNER, NS_MUC_ROOMCONFIG, NS_MUC_ROOMINFO } from './ns.js'

const field = (type: string, v: string, label: string, value: string): Element =>
  xml('field', { type, var: v, label }, xml('value', {}, value))
const bool = (b: boolean): string => (b ? '1' : '0')

/** The owner form of a room, filled with its settings. */
export function ownerForm (address: string, s: RoomSettings): Element {
  return xml('query', { xmlns: NS_MUC_OWNER },
    xml('x', { xmlns: NS_DATA, type: 'form' },
      xml('title', {}, `Configuration of ${address}`),
      xml('instructions', {}, 'A Chorus room keeps its messages on the mesh: it is always persistent.'),
      xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', {}, NS_MUC_ROOMCONFIG)),
      field('text-single', 'muc#roomconfig_roomname', 'Name', s.name),
      field('text-single', 'muc#roomconfig_roomdesc', 'Description', s.description),
      field('boolean', 'muc#roomconfig_membersonly', 'Members only (joining needs an invitation)', bool(!s.public)),
      field('boolean', 'muc#roomconfig_publicroom', 'Listed in the room directory', bool(s.listed)),
      field('boolean', 'muc#roomconfig_persistentroom', 'Persistent', '1'),
      field('boolean', 'muc#roomconfig_moderatedroom', 'Moderated (only owners and admins post)', bool(s.moderated)),
      field('boolean', 'muc#roomconfig_allowinvites', 'Members may invite', bool(s.invites === 'members'))))
}

/** The `muc#roominfo` form of disco#info: what a client shows about a room before joining. */
export function roomInfoForm (s: RoomSettings, occupants: number): Element {
  return xml('x', { xmlns: NS_DATA, type: 'result' },
    xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', {}, NS_MUC_ROOMINFO)),
    field('text-single', 'muc#roominfo_description', 'Description', s.description),
    field('text-single', 'muc#roominfo_occupants', 'Members', String(occupants)))
}

/** The disco#info features of a room with these settings (XEP-0045 §15.3). */
export function roomFeatures (s: RoomSettings): string[] {
  return [
    s.listed ? 'muc_public' : 'muc_hidden',
    s.public ? 'muc_open' : 'muc_membersonly',
    'muc_persistent',
    s.moderated ? 'muc_moderated' : 'muc_unmoderated',
    'muc_nonanonymous',
    'muc_unsecured'
  ]
}

/**
 * The settings a submitted owner form asks for: those it names, changed; undefined for a cancel. An empty
 * submit (an instant room, §10.1.2) asks for no change. Throws `StanzaError` (`bad-request`, `not-acceptable`).
 */
export function parseOwnerSubmit (query: Element): Partial<RoomSettings> | undefined {
  const x = query.getChild('x', NS_DATA)
  if (x == null) throw new StanzaError('bad-request', 'a muc#owner set carries a jabber:x:data form')
  if (x.attrs.type === 'cancel') return undefined
  if (x.attrs.type !== 'submit') throw new StanzaError('bad-request', 'the form is submitted (type submit) or cancelled')
  const out: Partial<RoomSettings> = {}
  for (const f of x.getChildren('field')) {
    const name = String(f.attrs.var ?? '')
    const values = f.getChildren('value').map((v) => v.text())
    const value = values[0] ?? ''
    switch (name) {
      case 'muc#roomconfig_roomname':
        if (value.length === 0 || value.length > MAX_ROOM_NAME_LENGTH) throw new StanzaError('not-acceptable', `a room name is 1–${MAX_ROOM_NAME_LENGTH} characters`)
        out.name = value
        break
      case 'muc#roomconfig_roomdesc':
        if (value.length > MAX_ROOM_DESCRIPTION_LENGTH) throw new StanzaError('not-acceptable', `a description is at most ${MAX_ROOM_DESCRIPTION_LENGTH} characters`)
        out.description = value
        break
      case 'muc#roomconfig_membersonly': out.public = !flag(name, value); break
      case 'muc#roomconfig_publicroom': out.listed = flag(name, value); break
      case 'muc#roomconfig_moderatedroom': out.moderated = flag(name, value); break
      case 'muc#roomconfig_allowinvites': out.invites = flag(name, value) ? 'members' : 'admins'; break
      case 'muc#roomconfig_persistentroom':
        if (!flag(name, value)) throw new StanzaError('not-acceptable', 'a Chorus room is always persistent: its logs are replicated on the mesh')
        break
      default:
        break
    }
  }
  return out
}

/** An XEP-0004 boolean: 1/true or 0/false. */
function flag (name: string, value: string): boolean {
  if (value === '1' || value === 'true') return true
  if (value === '0' || value === 'false') return false
  throw new StanzaError('not-acceptable', `${name} is a boolean (0, 1, false, true), not ${JSON.stringify(value.slice(0, 20))}`)
}
