# relay.py: what a relay and an mbox writer do to a message in transit, and
# content comparison, for tests/interop/run-relay-interop.sh.
# Usage: relay.py COMMAND ARGS...; a failed check exits non-zero with the
# reason on stderr.
#   relay IN OUT       OUT = IN after mbox ">From " quoting of every line that
#                      starts "From " and folding of every line over 998
#                      octets (CRLF inserted every 998 octets, RFC 5322 2.1.1)
#   proof MSG          MSG is relay-proof: relay changes nothing in it
#   same A B           the leaf parts of the MIME entities A and B (whole
#                      messages or bare entities) decode to the same bytes, in
#                      order (line ends compared as LF), with the same media
#                      types; preambles and epilogues are not compared
import email, email.policy, sys

MAX = 998

def relay(data):
    out = []
    for line in data.split(b'\n'):
        if line.startswith(b'From '):
            line = b'>' + line
        cr = line.endswith(b'\r')
        text = line[:-1] if cr else line
        while len(text) > MAX:
            out.append(text[:MAX] + b'\r')
            text = text[MAX:]
        out.append(text + (b'\r' if cr else b''))
    return b'\n'.join(out)

def leaves(path):
    msg = email.message_from_bytes(open(path, 'rb').read(), policy=email.policy.compat32)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b''
        out.append((part.get_content_type(), data.replace(b'\r\n', b'\n')))
    return out

def main(argv):
    cmd = argv[1] if len(argv) > 1 else ''
    if cmd == 'relay' and len(argv) == 4:
        open(argv[3], 'wb').write(relay(open(argv[2], 'rb').read()))
    elif cmd == 'proof' and len(argv) == 3:
        data = open(argv[2], 'rb').read()
        if relay(data) != data:
            lines = data.split(b'\n')
            why = [str(i + 1) for i, l in enumerate(lines)
                   if l.startswith(b'From ') or len(l.rstrip(b'\r')) > MAX]
            raise SystemExit('relay changes line(s) ' + ','.join(why[:10]))
    elif cmd == 'same' and len(argv) == 4:
        a, b = leaves(argv[2]), leaves(argv[3])
        if len(a) != len(b):
            raise SystemExit('%d leaf parts, expected %d' % (len(b), len(a)))
        for i, ((ta, da), (tb, db)) in enumerate(zip(a, b)):
            if ta != tb:
                raise SystemExit('part %d is %s, expected %s' % (i, tb, ta))
            if da != db:
                raise SystemExit('part %d (%s) decodes to %d bytes that differ from the %d expected'
                                 % (i, ta, len(db), len(da)))
    else:
        raise SystemExit('usage: relay.py relay IN OUT | proof MSG | same A B')

if __name__ == '__main__':
    main(sys.argv)
