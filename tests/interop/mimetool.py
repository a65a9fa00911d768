# mimetool.py: byte-exact MIME handling the shell cannot do reliably, for
# tests/interop/run-signing-interop.sh and run-encryption-interop.sh (through
# mt in common.sh). Usage: mimetool.py COMMAND ARGS...; a failed check exits
# non-zero with the reason on stderr.
#   split MSG OUTDIR        clear or opaque signed message -> parts (see split)
#   opaque MSG OUT.der      application/pkcs7-mime -> DER, prints smime-type
#   ctype ENTITY            prints the entity's media type
#   text ENTITY EXPECTED    the text/plain part decodes to EXPECTED
#   attachment ENTITY FILE  the application/octet-stream part is FILE
#   wire MSG                CRLF only, 7-bit body, lines <= 998
#   header A B NAME         field NAME is byte-identical in A and B
#   flip SRC DST BACK       SRC with the byte at len - BACK inverted
import base64, email, re, sys

def split_head(raw):
    m = re.search(rb'\r?\n\r?\n', raw)
    if not m:
        return raw, b''
    return raw[:m.start()], raw[m.end():]

def fields(head):
    """[(lower-case name, raw field bytes incl. folding)]"""
    out = []
    for line in re.split(rb'\r?\n', head):
        if line[:1] in (b' ', b'\t') and out:
            out[-1][1].append(line)
        else:
            out.append((line.split(b':', 1)[0].strip().lower(), [line]))
    return [(n.decode('latin-1'), b'\r\n'.join(v)) for n, v in out]

def field(head, name):
    for n, v in fields(head):
        if n == name:
            v = re.sub(rb'\r?\n[ \t]', b' ', v)
            return v.split(b':', 1)[1].strip().decode('latin-1')
    return ''

def param(value, name):
    m = re.search(r';\s*' + name + r'\s*=\s*("([^"]*)"|[^;\s]+)', value, re.I)
    return '' if not m else (m.group(2) if m.group(2) is not None else m.group(1))

def b64(data):
    return base64.b64decode(re.sub(rb'\s', b'', data), validate=True)

def split(msg, outdir):
    """Prints 'clear MICALG', 'opaque SMIME-TYPE' or 'other CONTENT-TYPE';
    writes outdir/part + outdir/sig.der (clear) or outdir/p7m.der (opaque)."""
    head, body = split_head(open(msg, 'rb').read())
    ct = field(head, 'content-type')
    mt = ct.split(';')[0].strip().lower()
    if mt == 'multipart/signed':
        d = b'--' + param(ct, 'boundary').encode()
        pos = 0 if body.startswith(d) else body.index(b'\r\n' + d) + 2
        i = body.index(b'\r\n', pos) + 2
        j = body.index(b'\r\n' + d, i)
        open(outdir + '/part', 'wb').write(body[i:j])
        k = body.index(b'\r\n', j + 2) + 2
        second = body[k:body.index(b'\r\n' + d, k)]
        shead, sbody = split_head(second)
        sct = field(shead, 'content-type').split(';')[0].strip().lower()
        if sct != 'application/pkcs7-signature':
            raise SystemExit('second part is ' + sct)
        open(outdir + '/sig.der', 'wb').write(b64(sbody))
        print('clear', param(ct, 'micalg').lower() or '-')
    elif mt in ('application/pkcs7-mime', 'application/x-pkcs7-mime'):
        if field(head, 'content-transfer-encoding').lower() != 'base64':
            raise SystemExit('opaque body is not base64')
        open(outdir + '/p7m.der', 'wb').write(b64(body))
        print('opaque', param(ct, 'smime-type').lower() or '-')
    else:
        print('other', mt)

def opaque(msg, out):
    """application/pkcs7-mime, base64: writes the DER to out, prints smime-type."""
    head, body = split_head(open(msg, 'rb').read())
    ct = field(head, 'content-type')
    mt = ct.split(';')[0].strip().lower()
    if mt not in ('application/pkcs7-mime', 'application/x-pkcs7-mime'):
        raise SystemExit('content type is ' + (mt or 'missing'))
    if field(head, 'content-transfer-encoding').lower() != 'base64':
        raise SystemExit('body is not base64')
    open(out, 'wb').write(b64(body))
    print(param(ct, 'smime-type') or '-')

def ctype(entity):
    """Prints the entity's media type, lower case (text/plain without one)."""
    head, _ = split_head(open(entity, 'rb').read())
    print(field(head, 'content-type').split(';')[0].strip().lower() or 'text/plain')

def text(entity, expected):
    """The (first) text/plain part of the MIME entity decodes to expected."""
    m = email.message_from_bytes(open(entity, 'rb').read())
    part = next((p for p in m.walk() if p.get_content_type() == 'text/plain'), None)
    if part is None:
        raise SystemExit('no text/plain part')
    cs = part.get_content_charset() or 'us-ascii'
    try:
        got = part.get_payload(decode=True).decode(cs)
    except (LookupError, UnicodeDecodeError) as e:
        raise SystemExit('cannot decode as %s: %s' % (cs, e))
    want = open(expected, 'rb').read().decode('utf-8')
    if got.replace('\r\n', '\n') != want.replace('\r\n', '\n'):
        raise SystemExit('decoded text differs (charset %s, %d vs %d chars)'
                         % (cs, len(got), len(want)))

def attachment(entity, expected):
    m = email.message_from_bytes(open(entity, 'rb').read())
    part = next((p for p in m.walk()
                 if p.get_content_type() == 'application/octet-stream'), None)
    if part is None:
        raise SystemExit('no application/octet-stream part')
    got = part.get_payload(decode=True)
    want = open(expected, 'rb').read()
    if got != want:
        raise SystemExit('attachment differs (%d vs %d bytes)' % (len(got), len(want)))

def wire(msg):
    """CRLF only; body 7-bit, no line longer than 998 octets."""
    raw = open(msg, 'rb').read()
    if re.search(rb'\r(?!\n)|(?<!\r)\n', raw):
        raise SystemExit('bare CR or LF')
    _, body = split_head(raw)
    if any(c >= 0x80 for c in body):
        raise SystemExit('8-bit octets in the body')
    longest = max(len(l) for l in body.split(b'\r\n'))
    if longest > 998:
        raise SystemExit('body line of %d octets' % longest)

def header(a, b, name):
    """Field NAME is byte-identical (folding included) in messages a and b."""
    fa = [v for n, v in fields(split_head(open(a, 'rb').read())[0]) if n == name]
    fb = [v for n, v in fields(split_head(open(b, 'rb').read())[0]) if n == name]
    if not fa or fa != fb:
        raise SystemExit('%s: %r != %r' % (name, fa, fb))

def flip(src, dst, back):
    """Copies src to dst with the byte at len - back inverted."""
    b = bytearray(open(src, 'rb').read())
    b[len(b) - int(back)] ^= 0xff
    open(dst, 'wb').write(bytes(b))

cmd = sys.argv[1]
{'split': split, 'opaque': opaque, 'ctype': ctype, 'text': text,
 'attachment': attachment, 'wire': wire, 'header': header,
 'flip': flip}[cmd](*sys.argv[2:])
