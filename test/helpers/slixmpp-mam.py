"""
Log in with slixmpp (python3-slixmpp, the client that found issue 21) and read the archive (XEP-0313)
of one conversation, 20 results a page, paged forward with RSM <after>, as slixmpp's own iterator does.

usage: slixmpp-mam.py JID PASSWORD HOST PORT WITH
Prints one JSON line per archived message ({from, to, type, body, invite_from}), then {"done": pages}.
Exits 2 with {"disconnected": ...} when the stream ends first (stderr has slixmpp's log).
"""
import asyncio
import json
import logging
import ssl
import sys

import slixmpp

NS_MUC_USER = '{http://jabber.org/protocol/muc#user}'

jid, password, host, port, with_jid = sys.argv[1:6]
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
client = slixmpp.ClientXMPP(jid, password)
for plugin in ('xep_0030', 'xep_0059', 'xep_0313'):
    client.register_plugin(plugin)
client.ssl_context.check_hostname = False
client.ssl_context.verify_mode = ssl.CERT_NONE
outcome = {'code': 3}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


async def read_archive(_event):
    pages = 0
    try:
        pager = client['xep_0313'].retrieve(with_jid=slixmpp.JID(with_jid), iterator=True, rsm={'max': 20})
        async for page in pager:
            pages += 1
            for result in page['mam']['results']:
                fwd = result['mam_result']['forwarded']['stanza']
                invite = fwd.xml.find(f'{NS_MUC_USER}x/{NS_MUC_USER}invite')
                emit({'from': str(fwd['from']), 'to': str(fwd['to']), 'type': fwd['type'], 'body': fwd['body'],
                      'invite_from': None if invite is None else invite.get('from')})
        emit({'done': pages})
        outcome['code'] = 0
    except Exception as err:  # an iq error or timeout: reported, not hidden
        emit({'failed': repr(err)})
        outcome['code'] = 1
    client.disconnect()


def disconnected(event):
    if outcome['code'] == 3:
        emit({'disconnected': str(event)})
        outcome['code'] = 2
    client.loop.stop()


client.add_event_handler('session_start', read_archive)
client.add_event_handler('disconnected', disconnected)
client.add_event_handler('connection_failed', disconnected)
client.connect((host, int(port)))
client.loop.call_later(120, lambda: (emit({'disconnected': 'timeout'}), client.loop.stop()))
client.loop.run_forever()
sys.exit(outcome['code'])
