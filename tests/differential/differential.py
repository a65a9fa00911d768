# differential.py: the differential test behind run-differential.sh.
#
# For every base (a signed message and the MIME entity its signer signed) it
# makes COUNT seeded mutants (mutate.py), runs `smimectl process --report`
# on each, and for every mutant whose verdict is pass checks that three
# readers show the signed text: Python's email package with policy.default
# and with compat32, and GMime (the gmime_text helper). "Shown text" is the
# first text/* leaf, depth first, following only part 1 of a multipart/
# signed, transfer- and charset-decoded; an application/pkcs7-mime leaf is
# unwrapped (its eContent, through `openssl cms`) and read again by the same
# reader. A reader that shows anything else for a pass is a disagreement.
# Disagreements are shrunk (mutations dropped while the mutant stays pass
# and in disagreement) and classified by the mutations they need.
#
# usage: differential.py --smimectl BIN --config CONF --now T --gmime BIN
#        --work DIR --keep DIR [--count N] [--seed S] [--jobs J] [--shrink N]
#        NAME=SIGNED.eml:ENTITY ...
# KEEP receives disagreement-N.eml/.txt (the first 20), smimectl-crash-N.eml
# or smimectl-hang-N.eml, and finding-NNN.eml/.txt with index.tsv (one shrunk
# example per kind of disagreement). Prints "ok"/"FAIL" lines, the verdicts,
# per mutation how many mutants were pass, not pass and in disagreement, and
# ends with "N passed, N failed" (bases and mutants; a coverage check that
# fails counts once). Exit status 0 only when nothing failed.
import argparse
import base64
import collections
import concurrent.futures
import email
import email.policy
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutate  # noqa: E402

READERS = ('python-default', 'python-compat32', 'gmime')


def norm(text):
    """Line ends do not count: CRLF and LF are the same text, and the line end
    before a delimiter belongs to the delimiter (readers differ on keeping it)."""
    return text.replace('\r\n', '\n').rstrip('\r\n')


class Unwrapper:
    """eContent of a CMS SignedData (DER), cached: openssl cms, no checks."""

    def __init__(self, work):
        self.work = work
        self.cache = {}

    def __call__(self, der):
        key = hashlib.sha256(der).hexdigest()
        if key not in self.cache:
            src = os.path.join(self.work, 'p7-%s.der' % key[:16])
            dst = os.path.join(self.work, 'p7-%s.eml' % key[:16])
            with open(src, 'wb') as f:
                f.write(der)
            r = subprocess.run(['openssl', 'cms', '-verify', '-noverify', '-nosigs', '-inform',
                                'DER', '-in', src, '-out', dst], capture_output=True)
            self.cache[key] = open(dst, 'rb').read() if r.returncode == 0 else None
        return self.cache[key]


def python_text(raw, policy, unwrap, depth=0):
    """(kind, text) as the email package shows raw under policy."""
    try:
        msg = email.message_from_bytes(raw, policy=policy)
        leaf = first_leaf(msg)
        if leaf is None:
            return ('none', '')
        kind, part = leaf
        if kind == 'pkcs7':
            inner = unwrap(part.get_payload(decode=True) or b'')
            if inner is None or depth > 3:
                return ('pkcs7-unreadable', '')
            return python_text(inner, policy, unwrap, depth + 1)
        if policy is email.policy.compat32 or kind == 'multipart-as-text':
            payload = part.get_payload(decode=True)
            if isinstance(payload, str):
                payload = payload.encode('utf-8', 'surrogateescape')
            charset = part.get_content_charset() or 'us-ascii'
            try:
                return ('text', (payload or b'').decode(charset, 'replace'))
            except LookupError:
                return ('text', (payload or b'').decode('latin-1'))
        return ('text', part.get_content())
    except Exception as e:  # a reader that breaks shows nothing we signed
        return ('error', '%s: %s' % (type(e).__name__, e))


def first_leaf(part, depth=0):
    if depth > 50:
        return None
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if ctype == 'multipart/signed':
            children = children[:1]
        for child in children:
            leaf = first_leaf(child, depth + 1)
            if leaf is not None:
                return leaf
        return None
    if ctype in ('application/pkcs7-mime', 'application/x-pkcs7-mime'):
        return ('pkcs7', part)
    if part.get_content_maintype() == 'text':
        return ('text', part)
    if part.get_content_maintype() == 'multipart':  # no usable boundary: shown as text
        return ('multipart-as-text', part)
    return None


class Gmime:
    def __init__(self, binary, work, unwrap):
        self.binary, self.work, self.unwrap = binary, work, unwrap

    def texts(self, paths, depth=0):
        """[(kind, text, structure)] for the message files."""
        out = []
        for i in range(0, len(paths), 200):
            r = subprocess.run([self.binary] + paths[i:i + 200], capture_output=True, check=True)
            out += [line.split(b'\t') for line in r.stdout.splitlines()]
        assert len(out) == len(paths), 'gmime_text printed %d lines for %d files' % (
            len(out), len(paths))
        result = [None] * len(paths)
        again = []
        for i, (kind, data, structure) in enumerate(out):
            kind, structure = kind.decode(), structure.decode(errors='replace')
            data = base64.b64decode(data)
            if kind == 'pkcs7' and depth < 3:
                inner = self.unwrap(data)
                if inner is not None:
                    path = os.path.join(self.work, 'inner-%s.eml' % hashlib.sha256(inner)
                                        .hexdigest()[:16])
                    with open(path, 'wb') as f:
                        f.write(inner)
                    again.append((i, path, structure))
                    continue
                kind = 'pkcs7-unreadable'
            result[i] = (kind, data.decode('utf-8', 'replace'), structure)
        if again:
            inner = self.texts([p for _, p, _ in again], depth + 1)
            for (i, _, structure), (kind, text, s2) in zip(again, inner):
                result[i] = (kind, text, structure + ' => ' + s2)
        return result


def verdict(args, path):
    try:
        r = subprocess.run([args.smimectl, '-c', args.config, 'process', '--inbound', '--now',
                            str(args.now), '--report', path], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 'hang', 'no answer in 60 s'
    if r.returncode < 0:
        return 'crash', 'signal %d' % -r.returncode
    try:
        report = json.loads(r.stdout)
    except ValueError:
        return 'no-report', r.stderr.decode(errors='replace').strip()[:200]
    reason = ''
    results = report.get('results') or []
    if results:
        reason = results[0].get('reason', '')
    return report.get('verdict', 'no-verdict'), reason


def shown_by(data, gmime_result, unwrap):
    return {
        'python-default': python_text(data, email.policy.default, unwrap),
        'python-compat32': python_text(data, email.policy.compat32, unwrap),
        'gmime': gmime_result[:2],
    }


def differing(shown, reference):
    return [r for r in READERS if shown[r][0] != 'text' or norm(shown[r][1]) != reference]


def keep(folder, stem, data, report):
    """Writes folder/stem.eml (and .txt with report); returns the .eml path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, stem)
    with open(path + '.eml', 'wb') as f:
        f.write(data)
    if report:
        with open(path + '.txt', 'w') as f:
            f.write('\n'.join(report) + '\n')
    return path + '.eml'


def describe(name, m, shown, bad, structure, reference):
    lines = ['base %s, verdict pass; mutations:' % name]
    lines += ['  %s (seed %d): %s' % st for st in m.steps]
    lines.append('gmime structure: %s' % structure)
    lines += ['%-16s %s %s: %r' % (r, 'BAD' if r in bad else 'ok ', shown[r][0], shown[r][1][:160])
              for r in READERS]
    lines.append('signed text: %r' % reference[:160])
    return lines


class Run:
    def __init__(self, args):
        self.args = args
        self.unwrap = Unwrapper(args.work)
        self.gmime = Gmime(args.gmime, args.work, self.unwrap)
        self.passed = self.failed = 0
        self.bases = {}      # name -> signed message bytes
        self.reference = {}  # name -> normalised signed text

    def ok(self, text):
        self.passed += 1
        print('ok   ' + text)

    def fail(self, text):
        self.failed += 1
        print('FAIL ' + text)

    def read(self, data, path):
        """What each reader shows of the message data (stored at path)."""
        gm = self.gmime.texts([path])[0]
        return shown_by(data, gm, self.unwrap), gm[2]

    def check_base(self, name, signed, entity):
        """The readers agree on the signed entity alone (the reference) and
        on the unmutated message, which must be pass."""
        raw = open(signed, 'rb').read()
        epath = os.path.join(self.args.work, 'entity-%s.eml' % name)
        with open(epath, 'wb') as f:
            f.write(open(entity, 'rb').read())
        shown, _ = self.read(open(epath, 'rb').read(), epath)
        texts = {norm(t) for _, t in shown.values()}
        if len(texts) != 1 or {k for k, _ in shown.values()} != {'text'} or not min(texts):
            return self.fail('base %s: readers disagree on the signed entity: %r' % (name, shown))
        reference = texts.pop()
        v, why = verdict(self.args, signed)
        if v != 'pass':
            return self.fail('base %s: the unmutated message is %s %s, not pass' % (name, v, why))
        bad = differing(self.read(raw, signed)[0], reference)
        if bad:
            return self.fail('base %s: unmutated message shown differently by %s' % (name, bad))
        self.bases[name], self.reference[name] = raw, reference
        self.ok('base %s: pass, all readers show the signed text' % name)

    def check_readers(self):
        """Control: every reader shows the decoy of a plain decoy message and the
        comparison flags it, so a reader that broke cannot hide disagreements."""
        data = (b'From: <a@a.example>\r\nMIME-Version: 1.0\r\n' + b'Content-Type: multipart/mixed; '
                b'boundary="' + mutate.DECOY_BOUNDARY + b'"\r\n\r\n' +
                mutate.decoy_multipart(mutate.DECOY_BOUNDARY))
        path = os.path.join(self.args.work, 'control.eml')
        with open(path, 'wb') as f:
            f.write(data)
        shown, _ = self.read(data, path)
        want = mutate.DECOY_TEXT.decode()
        wrong = [r for r in READERS if shown[r][0] != 'text' or norm(shown[r][1]) != want]
        if wrong or len(differing(shown, next(iter(self.reference.values())))) != len(READERS):
            return self.fail('control: readers do not show a plain decoy message: %r' % shown)
        self.ok('control: every reader shows a plain decoy message and it counts as different')

    def shrink(self, name, m):
        """Drops mutations while the mutant stays pass and some reader still
        differs; returns the smallest Mutant found (m itself if none smaller)."""
        path = os.path.join(self.args.work, 'shrink.eml')
        steps = [(st[0], st[1]) for st in m.steps]
        changed = True
        while changed and len(steps) > 1:
            changed = False
            for k in range(len(steps)):
                trial = mutate.replay(self.bases[name], steps[:k] + steps[k + 1:])
                data = trial.bytes()
                with open(path, 'wb') as f:
                    f.write(data)
                if verdict(self.args, path)[0] != 'pass':
                    continue
                if differing(self.read(data, path)[0], self.reference[name]):
                    steps, m, changed = steps[:k] + steps[k + 1:], trial, True
                    break
        return m

    def mutants(self):
        args = self.args
        names = sorted(self.bases)
        todo = []  # (n, base name, Mutant, path, bytes)
        for n in range(args.count):
            name = names[n % len(names)]
            m = mutate.make(self.bases[name], args.seed * 1000003 + n)
            path = os.path.join(args.work, 'm%06d.eml' % n)
            data = m.bytes()
            with open(path, 'wb') as f:
                f.write(data)
            todo.append((n, name, m, path, data))
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            verdicts = list(pool.map(lambda t: verdict(args, t[3]), todo))
        passing = [i for i, (v, _) in enumerate(verdicts) if v == 'pass']
        gm = dict(zip(passing, self.gmime.texts([todo[i][3] for i in passing]) if passing else []))

        per_mutation = collections.defaultdict(lambda: [0, 0, 0])  # pass, not pass, disagreements
        classes = {}  # (mutation names, readers) -> (descriptions, score)
        fine = {}     # (mutation descriptions, readers) -> (bytes, report, score), for --keep
        disagreements = 0
        for i, (n, name, m, path, data) in enumerate(todo):
            v, why = verdicts[i]
            names_used = {st[0] for st in m.steps}
            for step in names_used:
                per_mutation[step][0 if v == 'pass' else 1] += 1
            if v in ('crash', 'hang'):
                kept = keep(args.keep, 'smimectl-%s-%d' % (v, n), data, [])
                self.fail('smimectl %s (%s) on %s: %s' % (v, why, kept,
                                                          '; '.join(st[2] for st in m.steps)))
                continue
            if v != 'pass':
                self.passed += 1
                continue
            shown = shown_by(data, gm[i], self.unwrap)
            bad = differing(shown, self.reference[name])
            if not bad:
                self.passed += 1
                continue
            disagreements += 1
            for step in names_used:
                per_mutation[step][2] += 1
            report = describe(name, m, shown, bad, gm[i][2], self.reference[name])
            if disagreements <= 20:
                kept = keep(args.keep, 'disagreement-%d' % disagreements, data, report)
                self.fail('disagreement %s: %s\n     %s' % (
                    kept, '; '.join(st[2] for st in m.steps),
                    '\n     '.join(report[len(m.steps) + 1:])))
            else:
                self.failed += 1
            # Classified by the mutations still needed after shrinking.
            small = self.shrink(name, m) if disagreements <= args.shrink else m
            sdata = small.bytes()
            spath = os.path.join(args.work, 'small.eml')
            with open(spath, 'wb') as f:
                f.write(sdata)
            sshown, structure = self.read(sdata, spath)
            sbad = differing(sshown, self.reference[name]) or bad
            sreport = describe(name, small, sshown, sbad, structure, self.reference[name])
            # The example kept: one where a reader shows the decoy if any, else the smallest.
            score = (not any(mutate.DECOY_TEXT.decode() in t for _, t in sshown.values()),
                     len(sdata))
            key = (tuple(sorted({st[0] for st in small.steps})), tuple(sbad))
            if key not in classes or score < classes[key][1]:
                classes[key] = (' + '.join(st[2] for st in small.steps), score)
            key = (tuple(sorted(re.sub(r'; decoy \w+ \w+', '', st[2]) for st in small.steps)),
                   tuple(sbad))
            if key not in fine or score < fine[key][2]:
                fine[key] = (sdata, sreport, score)

        counts = collections.Counter(v if v == 'pass' else '%s %s' % (v, why)
                                     for v, why in verdicts)
        print('verdicts: ' + ', '.join('%s=%d' % kv for kv in sorted(counts.items())))
        print('%-18s %6s %9s %13s' % ('mutation', 'pass', 'not pass', 'disagreements'))
        for step in sorted(mutate.MUTATIONS):
            print('%-18s %6d %9d %13d' % ((step,) + tuple(per_mutation.get(step, (0, 0, 0)))))
        if classes:
            print('disagreement classes (mutations; readers that differ): %d' % len(classes))
            for (steps, bad), (descs, _) in sorted(classes.items()):
                print('  %s; %s: e.g. %s' % ('+'.join(steps), ','.join(bad), descs[:200]))
            index = []
            for k, ((descs, bad), (data, report, _)) in enumerate(sorted(fine.items())):
                kept = keep(args.keep, 'finding-%03d' % (k + 1), data, report)
                index.append('%s\t%s\t%s' % (os.path.basename(kept), ','.join(bad),
                                              ' + '.join(descs)))
            with open(os.path.join(args.keep, 'index.tsv'), 'w') as f:
                f.write('\n'.join(index) + '\n')
            print('%d shrunk examples in %s (index.tsv)' % (len(fine), args.keep))
        # A run that cannot fail is no test: both sides must be exercised.
        if not passing:
            self.fail('coverage: no mutant was pass, nothing was compared')
        if len(passing) == len(todo):
            self.fail('coverage: every mutant was pass, nothing was refused')
        print('%d mutants: %d pass, %d not pass, %d disagreements' % (
            len(todo), len(passing), len(todo) - len(passing), disagreements))


def main():
    ap = argparse.ArgumentParser()
    for a in ('--smimectl', '--config', '--gmime', '--work', '--keep'):
        ap.add_argument(a, required=True)
    ap.add_argument('--now', type=int, required=True)
    ap.add_argument('--count', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--shrink', type=int, default=50,
                    help='shrink the first SHRINK disagreements to the mutations they need')
    ap.add_argument('bases', nargs='+', help='NAME=SIGNED.eml:ENTITY')
    run = Run(ap.parse_args())
    for spec in run.args.bases:
        name, paths = spec.split('=', 1)
        run.check_base(name, *paths.split(':', 1))
    if run.failed == 0:
        run.check_readers()
    if run.failed == 0:
        run.mutants()
    print('%d passed, %d failed' % (run.passed, run.failed))
    return 0 if run.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
