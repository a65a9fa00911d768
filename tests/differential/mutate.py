# mutate.py: seeded mutations of the UNSIGNED structure of S/MIME messages,
# for tests/differential/differential.py (see run-differential.sh).
#
# A base message (clear-signed multipart/signed or opaque application/
# pkcs7-mime, CRLF) is split into a model: the top-level header fields, and
# for multipart/signed the preamble, the delimiter lines, the parts and the
# epilogue. Mutations change only what the signature does not cover: header
# fields, parameters, comments, folding, line ends, delimiter-line bytes,
# preamble and epilogue, extra or missing parts, the signature part's own
# header. Part 1 of a multipart/signed is never touched, nor the CMS bytes.
# Many mutations offer a second reading of the structure (a decoy boundary,
# a second Content-Type) and put a decoy text part where that reading finds
# it, so a reader that takes the other reading shows DECOY_TEXT.
#
# make(base, seed, count) -> Mutant: 1-3 mutations drawn with a
# random.Random(seed); replay(base, steps) applies the listed (name, seed)
# steps again (to shrink a finding). Mutant.bytes() is the message.
import random
import re

CRLF = b'\r\n'
DECOY_TEXT = b'DECOY: this text was not signed. Pay invoice 666 to account 13-37.'
DECOY_BOUNDARY = b'decoy-7f3a'


def decoy_part(boundary, suffix=b''):
    return (b'--' + boundary + suffix + CRLF + b'Content-Type: text/plain; charset=us-ascii' +
            CRLF + CRLF + DECOY_TEXT + CRLF)


def decoy_multipart(boundary):
    """A whole multipart body with boundary, whose only part is the decoy."""
    return decoy_part(boundary) + b'--' + boundary + b'--' + CRLF


class Part:
    def __init__(self, line, eol, content):
        self.line = line        # delimiter line without its end, e.g. b'--B'
        self.eol = eol          # its line end
        self.content = content  # the entity, without the CRLF before the next delimiter
        self.pre = CRLF         # the line end before this delimiter (not before the first)


class Mutant:
    def __init__(self, raw):
        head_end = raw.index(b'\r\n\r\n')
        self.fields = raw[:head_end].split(CRLF)
        # Continuation lines stay with their field.
        merged = []
        for f in self.fields:
            if f[:1] in (b' ', b'\t') and merged:
                merged[-1] += CRLF + f
            else:
                merged.append(f)
        self.fields = merged
        self.head_eol = CRLF     # ends every field line (and continuation lines keep theirs)
        self.separator = CRLF    # the empty line
        self.all_lf = False
        self.steps = []          # [(name, seed, description)]
        body = raw[head_end + 4:]
        ct = self.field_value(b'content-type') or b''
        if re.match(rb'\s*multipart/signed', ct, re.I):
            self.kind = 'clear'
            self.boundary = re.search(rb'boundary="?([^";\s]+)"?', ct, re.I).group(1)
            self._split_body(body)
        else:
            self.kind = 'opaque'
            self.body = body

    def _split_body(self, body):
        d = b'--' + self.boundary
        lines = []  # (offset, line without end, end)
        pos = 0
        for m in re.finditer(rb'\r\n', body):
            lines.append((pos, body[pos:m.start()]))
            pos = m.end()
        starts = [(off, ln) for off, ln in lines if ln in (d, d + b'--')]
        self.preamble = body[:starts[0][0]]
        self.parts = []
        for (off, ln), nxt in zip(starts, starts[1:] + [None]):
            if ln == d + b'--':
                self.close = Part(ln, CRLF, None)
                self.epilogue = body[off + len(ln) + 2:]
                break
            begin = off + len(ln) + 2
            self.parts.append(Part(ln, CRLF, body[begin:nxt[0] - 2]))
        assert len(self.parts) == 2 and self.close

    # --- header helpers ---
    @staticmethod
    def name_of(field):
        return field.split(b':', 1)[0].strip().lower()

    def index_of(self, name):
        for i, f in enumerate(self.fields):
            if self.name_of(f) == name:
                return i
        return None

    def field_value(self, name):
        i = self.index_of(name)
        return None if i is None else self.fields[i].split(b':', 1)[1]

    def set_value(self, i, value):
        self.fields[i] = self.fields[i].split(b':', 1)[0] + b':' + value

    def bytes(self):
        head = b''.join(f + self.head_eol for f in self.fields) + self.separator
        if self.kind == 'opaque':
            out = head + self.body
        else:
            out = head + self.preamble
            for i, p in enumerate(self.parts):
                out += (p.pre if i else b'') + p.line + p.eol + p.content
            if self.close is not None:
                out += self.close.pre + self.close.line + self.close.eol
            out += self.epilogue
        if self.all_lf:
            out = out.replace(CRLF, b'\n')
        return out


# --- mutations: fn(m, rng) -> description, or None when not applicable -----

class NotApplicable(Exception):
    pass


def _ct(m):
    i = m.index_of(b'content-type')
    if i is None:  # merged into another field by an earlier mutation
        raise NotApplicable()
    return i


def _with_decoy(m, rng, boundary):
    """Puts a multipart body with the decoy part where a reader that took
    `boundary` finds it: the preamble (clear) or after the body."""
    text = decoy_multipart(boundary)
    if m.kind == 'clear':
        if rng.random() < 0.7:
            m.preamble = text + m.preamble
            return 'decoy in preamble'
        m.epilogue += text
        return 'decoy in epilogue'
    if rng.random() < 0.5:
        m.body = text + m.body
        return 'decoy before body'
    m.body += CRLF + text
    return 'decoy after body'


def ct_dup_same(m, rng):
    i = _ct(m)
    at = rng.choice([i, i + 1, 0, len(m.fields)])
    m.fields.insert(at, m.fields[i])
    return 'same Content-Type twice'


def ct_dup_other(m, rng):
    i = _ct(m)
    choices = [
        (b' text/plain; charset=us-ascii', None),
        (b' multipart/mixed; boundary="' + DECOY_BOUNDARY + b'"', DECOY_BOUNDARY),
        (b' multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="' +
         DECOY_BOUNDARY + b'"', DECOY_BOUNDARY),
        (b' application/pkcs7-mime; smime-type=signed-data; name=smime.p7m', None),
    ]
    if m.kind == 'clear':
        choices.append((b' multipart/mixed; boundary="' + m.boundary + b'"', None))
    else:
        choices.append((b' multipart/signed; protocol="application/pkcs7-signature"; boundary=x',
                        None))
    value, decoy = rng.choice(choices)
    before = rng.random() < 0.5
    m.fields.insert(i if before else i + 1, b'Content-Type:' + value)
    what = 'other Content-Type %s the real one: %s' % ('before' if before else 'after',
                                                        value.decode(errors='replace').strip())
    if decoy and rng.random() < 0.85:
        what += '; ' + _with_decoy(m, rng, decoy)
    return what


def ct_param_dup(m, rng):
    i = _ct(m)
    v = m.field_value(b'content-type')
    kind = rng.choice(['boundary', 'protocol', 'extra', 'quoted-boundary', 'smime-type'])
    if kind == 'boundary':
        add = b'; boundary="' + DECOY_BOUNDARY + b'"'
    elif kind == 'protocol':
        add = b'; protocol="application/pgp-signature"'
    elif kind == 'smime-type':
        add = b'; smime-type=enveloped-data'
    elif kind == 'quoted-boundary':
        add = b'; name="x; boundary=' + DECOY_BOUNDARY + b'"'
    else:
        add = rng.choice([b'; charset=utf-8', b'; x-a=1; name="smime.p7m"', b';', b';;',
                          b'; =x', b'; boundary=', b'; BOUNDARY="' + DECOY_BOUNDARY + b'"'])
    if rng.random() < 0.5:
        semi = v.index(b';') if b';' in v else len(v)
        v = v[:semi] + add + v[semi:]
        where = 'first'
    else:
        v = v + add
        where = 'last'
    m.set_value(i, v)
    what = 'Content-Type parameter %s (%s)' % (add.decode(errors='replace').strip(), where)
    if DECOY_BOUNDARY in add and rng.random() < 0.85:
        what += '; ' + _with_decoy(m, rng, DECOY_BOUNDARY)
    return what


def _pct(b):
    return b''.join(b'%%%02X' % c for c in b)


def ct_rfc2231(m, rng):
    if m.kind != 'clear':
        return None
    i = _ct(m)
    v = m.field_value(b'content-type')
    plain = re.search(rb';\s*boundary="?[^";\s]+"?', v, re.I)
    if plain is None:  # already rewritten by an earlier mutation
        return None
    b = m.boundary
    h = len(b) // 2
    forms = {
        'star': b'; boundary*=us-ascii\'\'' + _pct(b),
        'continuations': b'; boundary*0="' + b[:h] + b'"; boundary*1="' + b[h:] + b'"',
        'encoded continuations': b'; boundary*0*=us-ascii\'\'' + _pct(b[:h]) + b'; boundary*1*=' +
                                 _pct(b[h:]),
        'continuations out of order': b'; boundary*1="' + b[h:] + b'"; boundary*0="' + b[:h] + b'"',
        'decoy star': b'; boundary*=us-ascii\'\'' + _pct(DECOY_BOUNDARY),
        'decoy continuations': b'; boundary*0="' + DECOY_BOUNDARY[:4] + b'"; boundary*1="' +
                               DECOY_BOUNDARY[4:] + b'"',
        'real continuations, decoy *1': b'; boundary*0="' + b[:h] + b'"; boundary*1="' + b[h:] +
                                        b'"; boundary*2="x"',
    }
    form = rng.choice(sorted(forms))
    keep_plain = 'decoy' in form or rng.random() < 0.4
    new = forms[form]
    if keep_plain:
        if rng.random() < 0.5:
            v = v[:plain.start()] + new + v[plain.start():]
            where = 'before'
        else:
            v = v + new
            where = 'after'
        what = 'RFC 2231 boundary (%s) %s the plain one' % (form, where)
    else:
        v = v[:plain.start()] + new + v[plain.end():]
        what = 'RFC 2231 boundary (%s) instead of the plain one' % form
    m.set_value(i, v)
    if 'decoy' in form and rng.random() < 0.85:
        what += '; ' + _with_decoy(m, rng, DECOY_BOUNDARY)
    if 'decoy *1' in form:
        what += '; ' + _with_decoy(m, rng, b + b'x')
    return what


def ct_quoting(m, rng):
    i = _ct(m)
    v = m.field_value(b'content-type')
    if m.kind == 'clear':
        b = m.boundary
        escaped = b''.join(b'\\' + bytes([c]) for c in b)
        forms = [b'boundary=' + b, b'boundary="' + escaped + b'"', b"boundary='" + b + b"'",
                 b'boundary="' + b, b'boundary = "' + b + b'"', b'boundary="' + b + b'" ']
        new = rng.choice(forms)
        v2 = re.sub(rb'boundary="?[^";\s]+"?', lambda _: new, v, count=1, flags=re.I)
    else:
        new = rng.choice([b'smime-type="signed-data"', b"smime-type='signed-data'",
                          b'smime-type = signed-data', b'smime-type="signed-data'])
        v2 = re.sub(rb'smime-type="?[^";\s]+"?', lambda _: new, v, count=1, flags=re.I)
    if v2 == v:
        return None
    m.set_value(i, v2)
    return 'parameter written as %s' % new.decode(errors='replace')


def ct_comment(m, rng):
    i = _ct(m)
    v = m.field_value(b'content-type')
    d = DECOY_BOUNDARY
    comment = rng.choice([b'(signed)', b'(boundary=' + d + b')', b'(; boundary="' + d + b'")',
                          b'(a (boundary=' + d + b') b)', b'(\\) boundary=' + d + b')',
                          b'("boundary=' + d + b')', b'(unclosed; boundary=' + d,
                          b'(\xe9t\xe9)'])
    spots = [m.start() for m in re.finditer(rb';', v)] + [len(v)]
    slash = v.find(b'/')
    spots += [slash + 1, len(v.split(b';')[0])]
    at = rng.choice(spots)
    m.set_value(i, v[:at] + comment + v[at:])
    what = 'comment %s in Content-Type' % comment.decode(errors='replace')
    if d in comment and rng.random() < 0.85:
        what += '; ' + _with_decoy(m, rng, d)
    return what


def fold(m, rng):
    i = _ct(m)
    v = m.field_value(b'content-type')
    how = rng.choice(['params', 'tab', 'blank continuation', 'inside type', 'inside value'])
    if how == 'params':
        v2 = v.replace(b'; ', b';\r\n ')
    elif how == 'tab':
        v2 = v.replace(b';', b';\r\n\t')
    elif how == 'blank continuation':
        v2 = v.replace(b';', b';\r\n \r\n ', 1)
    elif how == 'inside type':
        v2 = v.replace(b'/', b'/\r\n ', 1)
    else:
        v2 = v.replace(b'="', b'="\r\n ', 1)
    if v2 == v:
        return None
    m.set_value(i, v2)
    return 'Content-Type folded (%s)' % how


def ws_colon(m, rng):
    i = _ct(m)
    name, value = m.fields[i].split(b':', 1)
    sp = rng.choice([b' ', b'\t', b'  '])
    if rng.random() < 0.5:
        m.fields[i] = name + sp + b':' + value
        return 'whitespace %r before the colon' % sp
    # A second, differently written Content-Type with whitespace before the colon.
    m.fields.insert(i + rng.choice([0, 1]), b'Content-Type' + sp + b': text/plain')
    return 'extra "Content-Type%s: text/plain"' % sp.decode(errors='replace')


def name_case(m, rng):
    i = _ct(m)
    name, value = m.fields[i].split(b':', 1)
    new = rng.choice([b'content-type', b'CONTENT-TYPE', b'Content-type', b'cOnTeNt-TyPe'])
    m.fields[i] = new + b':' + value
    return 'header name %s' % new.decode(errors='replace')


def type_case(m, rng):
    i = _ct(m)
    v = m.field_value(b'content-type')
    sub = rng.choice([lambda t: t.upper(), lambda t: t.title(), lambda t: t.replace(b'/', b' / ')])
    t = v.split(b';')[0]
    m.set_value(i, sub(t) + v[len(t):])
    return 'media type written as %s' % sub(t).decode(errors='replace').strip()


def mime_version(m, rng):
    i = m.index_of(b'mime-version')
    how = rng.choice(['dup', 'dup 2.0', 'remove', 'comment', 'after'])
    if i is None:
        m.fields.insert(0, b'MIME-Version: 1.0')
        return 'MIME-Version added'
    if how == 'dup':
        m.fields.insert(i, m.fields[i])
    elif how == 'dup 2.0':
        m.fields.insert(rng.choice([i, i + 1]), b'MIME-Version: 2.0')
    elif how == 'remove':
        del m.fields[i]
    elif how == 'comment':
        m.fields[i] = b'MIME-Version: 1.(x)0 (produced by y)'
    else:
        f = m.fields.pop(i)
        m.fields.append(f)
    return 'MIME-Version: ' + how


def cte(m, rng):
    i = _ct(m)
    values = [b'base64', b'quoted-printable', b'7bit', b'binary', b'x-unknown', b'8bit']
    if m.kind == 'opaque':
        j = m.index_of(b'content-transfer-encoding')
        if j is None:
            return None
        v = rng.choice(values[1:])
        if rng.random() < 0.5:
            m.fields.insert(rng.choice([j, j + 1]), b'Content-Transfer-Encoding: ' + v)
            return 'second Content-Transfer-Encoding: %s' % v.decode(errors='replace')
        m.fields[j] = b'Content-Transfer-Encoding: ' + rng.choice([b'BASE64', b' base64 (x)', v])
        return 'Content-Transfer-Encoding rewritten: %s' % m.fields[j].decode(errors='replace')
    vs = rng.sample(values, rng.choice([1, 2]))
    for v in vs:
        m.fields.insert(rng.choice([i, i + 1]), b'Content-Transfer-Encoding: ' + v)
    return 'top-level Content-Transfer-Encoding: %s' % b', '.join(vs).decode(errors='replace')


def header_bytes(m, rng):
    what = rng.choice(['8bit header', 'NUL header', 'bare CR header', '8bit in Content-Type',
                       'no-colon line', 'NUL in Content-Type'])
    i = _ct(m)
    if what == '8bit header':
        m.fields.insert(rng.choice([i, i + 1]), b'X-Junk: \xff\xfe caf\xc3\xa9 \x80')
    elif what == 'NUL header':
        m.fields.insert(rng.choice([i, i + 1]), b'X-Junk: a\x00b')
    elif what == 'bare CR header':
        m.fields.insert(rng.choice([i, i + 1]), b'X-Junk: a\rContent-Type: text/plain')
    elif what == '8bit in Content-Type':
        m.set_value(i, m.field_value(b'content-type') + b'; x-\xe9=\xff')
    elif what == 'NUL in Content-Type':
        v = m.field_value(b'content-type')
        semi = v.find(b';')
        m.set_value(i, v[:semi] + b'\x00' + v[semi:])
    else:
        m.fields.insert(rng.choice([i, i + 1]), b'This line has no colon')
    return what


def header_eol(m, rng):
    how = rng.choice(['all LF', 'LF headers', 'separator LF', 'separator whitespace', 'CR field',
                      'separator CR', 'CRCRLF field'])
    i = _ct(m)
    if how == 'all LF':
        m.all_lf = True
    elif how == 'LF headers':
        m.head_eol = b'\n'
        m.separator = b'\n'
    elif how == 'separator LF':
        m.separator = b'\n'
    elif how == 'separator whitespace':
        m.separator = b' \r\n'
    elif how == 'separator CR':
        m.separator = b'\r'
    elif how == 'CR field':
        j = rng.randrange(len(m.fields))
        m.fields[j] = m.fields[j] + b'\r'
        if j + 1 < len(m.fields):  # ends the field with a bare CR instead of CRLF
            m.fields[j:j + 2] = [m.fields[j] + m.fields[j + 1]]
    else:
        m.fields[i] = m.fields[i] + b'\r'
    return 'line ends: ' + how


def ct_move(m, rng):
    i = _ct(m)
    f = m.fields.pop(i)
    at = rng.choice([0, len(m.fields)])
    m.fields.insert(at, f)
    return 'Content-Type moved to the %s' % ('top' if at == 0 else 'bottom')


# --- body mutations (clear-signed only) ---

def _delims(m):
    return [('delimiter %d' % (k + 1), p) for k, p in enumerate(m.parts)] + (
        [('close delimiter', m.close)] if m.close is not None else [])


def delim_suffix(m, rng):
    if m.kind != 'clear':
        return None
    label, p = rng.choice(_delims(m))
    sfx = rng.choice([b' ', b'\t', b' \t ', b'\r', b'\r\r', b'x', b' garbage', b'\x00', b'-',
                      b'--', b' --', b'\xff'])
    p.line += sfx
    return '%s followed by %r' % (label, sfx)


def delim_eol(m, rng):
    if m.kind != 'clear':
        return None
    label, p = rng.choice(_delims(m))
    if rng.random() < 0.5:
        p.eol = rng.choice([b'\n', b'\r', b'\r\r\n', b''])
        return '%s ends in %r' % (label, p.eol)
    if p is m.parts[0] and not m.preamble:
        return None
    p.pre = rng.choice([b'\n', b'\r', b'', b'\r\r\n'])
    return 'line end before %s is %r' % (label, p.pre)


def preamble_part(m, rng):
    if m.kind != 'clear':
        return None
    sfx = rng.choice([b'', b' ', b'\t', b'\r', b'x', b'\x00'])
    text = decoy_part(m.boundary, sfx)
    if rng.random() < 0.5:
        m.preamble = text + m.preamble
        where = 'start of'
    else:
        m.preamble = m.preamble + text
        where = 'end of'
    return 'decoy part (delimiter + %r) at the %s the preamble' % (sfx, where)


def epilogue_part(m, rng):
    if m.kind != 'clear':
        return None
    how = rng.choice(['part', 'part+close', 'delimiter', 'close', 'text'])
    if how == 'part':
        m.epilogue += decoy_part(m.boundary)
    elif how == 'part+close':
        m.epilogue += decoy_part(m.boundary) + b'--' + m.boundary + b'--' + CRLF
    elif how == 'delimiter':
        m.epilogue += b'--' + m.boundary + CRLF
    elif how == 'close':
        m.epilogue += b'--' + m.boundary + b'--' + CRLF
    else:
        m.epilogue += DECOY_TEXT + CRLF
    return 'epilogue gets a ' + how


def missing_close(m, rng):
    if m.kind != 'clear' or m.close is None:
        return None
    m.close = None
    if rng.random() < 0.5:
        m.epilogue = CRLF + DECOY_TEXT + CRLF
        return 'no close delimiter, text after the signature part'
    return 'no close delimiter'


def inject_part(m, rng):
    if m.kind != 'clear':
        return None
    at = rng.choice([0, 1, 2])
    sfx = rng.choice([b'', b'', b' ', b'\r', b'x'])
    content = b'Content-Type: text/plain; charset=us-ascii' + CRLF + CRLF + DECOY_TEXT
    m.parts.insert(at, Part(b'--' + m.boundary + sfx, CRLF, content))
    return 'decoy part inserted as part %d (delimiter + %r)' % (at + 1, sfx)


def preamble_bytes(m, rng):
    if m.kind != 'clear':
        return None
    what = rng.choice(['empty', '8bit', 'NUL', 'long line', 'boundary prefix', 'boundary longer',
                       'LF', 'bare CR', 'decoy multipart'])
    b = m.boundary
    if what == 'empty':
        m.preamble = b''
    elif what == '8bit':
        m.preamble = b'caf\xc3\xa9 \xff\xfe\x80' + CRLF + m.preamble
    elif what == 'NUL':
        m.preamble = b'a\x00b' + CRLF + m.preamble
    elif what == 'long line':
        m.preamble = b'x' * 5000 + CRLF + m.preamble
    elif what == 'boundary prefix':
        m.preamble += b'--' + b[:-1] + CRLF + b'Content-Type: text/plain' + CRLF + CRLF + \
            DECOY_TEXT + CRLF
    elif what == 'boundary longer':
        m.preamble += decoy_part(b + b'x')
    elif what == 'LF':
        m.preamble = m.preamble.replace(CRLF, b'\n')
    elif what == 'bare CR':
        m.preamble = m.preamble.replace(CRLF, b'\r')
    else:
        m.preamble = decoy_multipart(DECOY_BOUNDARY) + m.preamble
    return 'preamble: ' + what


def epilogue_bytes(m, rng):
    if m.kind != 'clear':
        return None
    what = rng.choice([b'caf\xc3\xa9 \xff' + CRLF, b'\x00' + CRLF, b'\r', b'\n\n',
                       decoy_multipart(DECOY_BOUNDARY)])
    m.epilogue += what
    return 'epilogue + %r' % what[:20]


def boundary_param(m, rng):
    """Declares a boundary that only a prefix- or suffix-matching reader finds."""
    if m.kind != 'clear':
        return None
    i = _ct(m)
    v = m.field_value(b'content-type')
    b = m.boundary
    new = rng.choice([b[:-1], b[:-4], b + b'x', b[2:], b.upper() if b.upper() != b else b + b'-'])
    v2 = re.sub(rb'boundary="?[^";\s]+"?', lambda _: b'boundary="' + new + b'"', v, count=1,
                flags=re.I)
    if v2 == v:
        return None
    m.set_value(i, v2)
    return 'boundary parameter %s (delimiters keep %s)' % (new.decode(errors='replace'),
                                                           b.decode(errors='replace'))


def sig_part_header(m, rng):
    if m.kind != 'clear':
        return None
    p = m.parts[1]
    add = rng.choice([b'Content-Type: text/plain', b'Content-Transfer-Encoding: 7bit',
                      b'Content-Type: application/pkcs7-signature',
                      b'Content-Transfer-Encoding: quoted-printable'])
    if rng.random() < 0.5:
        p.content = add + CRLF + p.content
        where = 'first'
    else:
        head_end = p.content.index(CRLF + CRLF)
        p.content = p.content[:head_end] + CRLF + add + p.content[head_end:]
        where = 'last'
    return 'signature part header %s (%s)' % (add.decode(errors='replace'), where)


def opaque_body(m, rng):
    if m.kind != 'opaque':
        return None
    what = rng.choice(['LF', 'trailing text', 'trailing decoy', 'leading blank', 'no final CRLF'])
    if what == 'LF':
        m.body = m.body.replace(CRLF, b'\n')
    elif what == 'trailing text':
        m.body += CRLF + DECOY_TEXT + CRLF
    elif what == 'trailing decoy':
        m.body += CRLF + decoy_multipart(DECOY_BOUNDARY)
    elif what == 'leading blank':
        m.body = CRLF + m.body
    else:
        m.body = m.body.rstrip(b'\r\n')
    return 'opaque body: ' + what


MUTATIONS = {f.__name__: f for f in [
    ct_dup_same, ct_dup_other, ct_param_dup, ct_rfc2231, ct_quoting, ct_comment, fold, ws_colon,
    name_case, type_case, mime_version, cte, header_bytes, header_eol, ct_move, delim_suffix,
    delim_eol, preamble_part, epilogue_part, missing_close, inject_part, preamble_bytes,
    epilogue_bytes, boundary_param, sig_part_header, opaque_body]}


def _apply(m, name, seed):
    try:
        what = MUTATIONS[name](m, random.Random(seed))
    except NotApplicable:
        return None
    if what is not None:
        m.steps.append((name, seed, what))
    return what


def replay(base, steps):
    """Applies [(name, seed)] to a fresh model of base; returns the Mutant."""
    m = Mutant(base)
    for name, seed in steps:
        _apply(m, name, seed)
    return m


def make(base, seed, count=None):
    rng = random.Random(seed)
    m = Mutant(base)
    want = count or rng.choice([1, 1, 2, 2, 3])
    names = sorted(MUTATIONS)
    tries = 0
    while len(m.steps) < want and tries < 50:
        tries += 1
        name = rng.choice(names)
        _apply(m, name, rng.getrandbits(48))
    return m
