/**
 * Every XML namespace the gateway reads or writes, each spelt once. Modules import them from here; a
 * namespace a feature serves is advertised through the feature registry (features/), never listed apart.
 */

// Streams (RFC 6120, RFC 7395)
export const NS_CLIENT = 'jabber:client'
export const NS_STREAMS = 'http://etherx.jabber.org/streams'
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing'
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
/** RFC 3921's session establishment, which RFC 6121 made a no-op; old clients still ask for it */
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session'
export const NS_STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams'
export const NS_STANZA_ERRORS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
/** XEP-0198, Stream Management */
export const NS_SM = 'urn:xmpp:sm:3'

// Instant messaging (RFC 6121)
export const NS_ROSTER = 'jabber:iq:roster'

// Extensions
/** XEP-0004, Data Forms */
export const NS_DATA = 'jabber:x:data'
/** XEP-0012, Last Activity */
export const NS_LAST = 'jabber:iq:last'
/** XEP-0030, Service Discovery */
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
/** XEP-0045, Multi-User Chat */
export const NS_MUC = 'http://jabber.org/protocol/muc'
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user'
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin'
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner'
export const NS_MUC_ROOMCONFIG = 'http://jabber.org/protocol/muc#roomconfig'
export const NS_MUC_ROOMINFO = 'http://jabber.org/protocol/muc#roominfo'
/** XEP-0059, Result Set Management */
export const NS_RSM = 'http://jabber.org/protocol/rsm'
/** XEP-0077, In-Band Registration: the iq namespace, and the stream feature */
export const NS_REGISTER = 'jabber:iq:register'
export const NS_REGISTER_FEATURE = 'http://jabber.org/features/iq-register'
/** XEP-0085, Chat State Notifications */
export const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates'
/** XEP-0184, Message Delivery Receipts */
export const NS_RECEIPTS = 'urn:xmpp:receipts'
/** XEP-0199, XMPP Ping */
export const NS_PING = 'urn:xmpp:ping'
/** XEP-0203, Delayed Delivery */
export const NS_DELAY = 'urn:xmpp:delay'
/** XEP-0280, Message Carbons */
export const NS_CARBONS = 'urn:xmpp:carbons:2'
/** XEP-0297, Stanza Forwarding */
export const NS_FORWARD = 'urn:xmpp:forward:0'
/** XEP-0313, Message Archive Management */
export const NS_MAM = 'urn:xmpp:mam:2'
/** XEP-0333, Chat Markers */
export const NS_MARKERS = 'urn:xmpp:chat-markers:0'
/** XEP-0359, Unique and Stable Stanza IDs */
export const NS_SID = 'urn:xmpp:sid:0'
