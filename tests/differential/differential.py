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
# reader. A reader that shows anything else for a pass is a disagreement:
# the mutant is written to WORK/disagreement-N.eml with its mutations.
#
# usage: differential.py --smimectl BIN --config CONF --now T --gmime BIN
#        --work DIR --count N [--seed S] [--jobs J] [--keep DIR]
#        NAME=SIGNED.eml:ENTITY ...
# Prints "ok"/"FAIL" lines, counts per mutation, and ends with
# "N passed, N failed" (mutants checked; coverage checks count as one each).
# Exit status 0 only when nothing failed.
import argparse
import base64
import collections
import concurrent.futures
import email
import email.policy
import hashlib
import json
import os
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


def shrink(args, gmime, unwrap, base, reference, m, path):
    """Drops mutations while the mutant stays pass and some reader still
    differs; returns the smallest Mutant found (m itself if none smaller)."""
    steps = [(s[0], s[1]) for s in m.steps]
    best = m
    changed = True
    while changed and len(steps) > 1:
        changed = False
        for k in range(len(steps)):
            trial = mutate.replay(base, steps[:k] + steps[k + 1:])
            data = trial.bytes()
            with open(path, 'wb') as f:
                f.write(data)
            if verdict(args, path)[0] != 'pass':
                continue
            if differing(shown_by(data, gmime.texts([path])[0], unwrap), reference):
                steps, best, changed = steps[:k] + steps[k + 1:], trial, True
                break
    return best


def keep(folder, stem, data, report):
    """Writes folder/stem.eml (and .txt with report); returns the path without .eml."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, stem)
    with open(path + '.eml', 'wb') as f:
        f.write(data)
    if report:
        with open(path + '.txt', 'w') as f:
            f.write('\n'.join(report) + '\n')
    return path


def main():
    ap = argparse.ArgumentParser()
    for a in ('--smimectl', '--config', '--gmime', '--work'):
        ap.add_argument(a, required=True)
    ap.add_argument('--now', type=int, required=True)
    ap.add_argument('--count', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--keep', help='write failing mutants and one shrunk example per kind of '
                    'disagreement here')
    ap.add_argument('--shrink', type=int, default=50,
                    help='shrink the first SHRINK disagreements to their needed mutations')
    ap.add_argument('bases', nargs='+')
    args = ap.parse_args()
    unwrap = Unwrapper(args.work)
    gmime = Gmime(args.gmime, args.work, unwrap)
    passed = failed = 0
    raw_of = {}

    bases = []
    for spec in args.bases:
        name, paths = spec.split('=', 1)
        signed, entity = paths.split(':', 1)
        bases.append((name, open(signed, 'rb').read(), open(entity, 'rb').read(), signed))
        raw_of[name] = bases[-1][1]

    # The reference: what each reader shows of the signed entity alone. The
    # readers must agree on it and on the unmutated message, which must pass.
    reference = {}
    for name, raw, entity, signed in bases:
        epath = os.path.join(args.work, 'entity-%s.eml' % name)
        with open(epath, 'wb') as f:
            f.write(entity)
        shown = {
            'python-default': python_text(entity, email.policy.default, unwrap),
            'python-compat32': python_text(entity, email.policy.compat32, unwrap),
            'gmime': gmime.texts([epath])[0][:2],
        }
        texts = {norm(t) for k, t in shown.values()}
        kinds = {k for k, t in shown.values()}
        v, why = verdict(args, signed)
        if len(texts) != 1 or kinds != {'text'} or not texts.pop().strip():
            failed += 1
            print('FAIL base %s: readers disagree on the signed entity itself: %r' % (name, shown))
            continue
        reference[name] = norm(shown['gmime'][1])
        if v != 'pass':
            failed += 1
            print('FAIL base %s: unmutated message is %s %s, not pass' % (name, v, why))
            continue
        base_shown = {
            'python-default': python_text(raw, email.policy.default, unwrap),
            'python-compat32': python_text(raw, email.policy.compat32, unwrap),
            'gmime': gmime.texts([signed])[0][:2],
        }
        bad = [r for r in READERS if norm(base_shown[r][1]) != reference[name]]
        if bad:
            failed += 1
            print('FAIL base %s: unmutated message shown differently by %s' % (name, bad))
            continue
        passed += 1
        print('ok   base %s: pass, all readers show the signed text' % name)
    if failed:
        print('%d passed, %d failed' % (passed, failed))
        return 1

    # Mutants: COUNT in total, bases in turn, seed derived from --seed.
    mutants = []
    for n in range(args.count):
        name, raw, _, _ = bases[n % len(bases)]
        m = mutate.make(raw, args.seed * 1000003 + n)
        path = os.path.join(args.work, 'm%06d.eml' % n)
        data = m.bytes()
        with open(path, 'wb') as f:
            f.write(data)
        mutants.append((n, name, m, path, data))
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        verdicts = list(pool.map(lambda t: verdict(args, t[3]), mutants))

    passing = [i for i, (v, _) in enumerate(verdicts) if v == 'pass']
    gm = gmime.texts([mutants[i][3] for i in passing]) if passing else []
    per_mutation = collections.defaultdict(lambda: [0, 0, 0])  # pass, not pass, disagreements
    verdict_count = collections.Counter('%s %s' % v if v[0] != 'pass' else 'pass'
                                        for v in verdicts)
    classes = {}
    fine = {}  # by mutation descriptions, for --keep
    disagreements = 0
    gm_by_index = dict(zip(passing, gm))
    for i, (n, name, m, path, data) in enumerate(mutants):
        v, why = verdicts[i]
        for step in {s[0] for s in m.steps}:
            per_mutation[step][0 if v == 'pass' else 1] += 1
        if v in ('crash', 'hang'):
            failed += 1
            if args.keep:
                path = keep(args.keep, 'smimectl-%s-%d' % (v, n), data, []) + '.eml'
            print('FAIL smimectl %s on %s (%s): %s' % (v, path, why,
                                                       '; '.join(st[2] for st in m.steps)))
            continue
        if v != 'pass':
            passed += 1
            continue
        shown = shown_by(data, gm_by_index[i], unwrap)
        bad = differing(shown, reference[name])
        if not bad:
            passed += 1
            continue
        failed += 1
        disagreements += 1
        for step in {s[0] for s in m.steps}:
            per_mutation[step][2] += 1
        out = os.path.join(args.work, 'disagreement-%d' % disagreements)
        with open(out + '.eml', 'wb') as f:
            f.write(data)
        report = ['mutant %d of base %s, verdict pass; mutations:' % (n, name)]
        report += ['  %s (seed %d): %s' % s for s in m.steps]
        report += ['gmime structure: %s' % gm_by_index[i][2]]
        for r in READERS:
            k, t = shown[r]
            report.append('%-16s %s %s: %r' % (r, 'ok ' if r not in bad else 'BAD', k, t[:160]))
        report.append('signed text: %r' % reference[name][:160])
        with open(out + '.txt', 'w') as f:
            f.write('\n'.join(report) + '\n')
        # Class: the mutations still needed after shrinking, and who differs.
        small = m
        if disagreements <= args.shrink:
            small = shrink(args, gmime, unwrap, raw_of[name], reference[name], m,
                           out + '-shrink.eml')
        sdata = small.bytes()
        spath = out + '-small.eml'
        with open(spath, 'wb') as f:
            f.write(sdata)
        sgm = gmime.texts([spath])[0]
        sshown = shown_by(sdata, sgm, unwrap)
        sbad = differing(sshown, reference[name])
        sreport = ['base %s, verdict pass; mutations:' % name]
        sreport += ['  %s (seed %d): %s' % st for st in small.steps]
        sreport += ['gmime structure: %s' % sgm[2]]
        sreport += ['%-16s %s %s: %r' % (r, 'ok ' if r not in sbad else 'BAD', sshown[r][0],
                                         sshown[r][1][:160]) for r in READERS]
        sreport.append('signed text: %r' % reference[name][:160])
        key = (tuple(sorted({st[0] for st in small.steps})), tuple(sbad))
        if key not in classes or len(sdata) < len(classes[key][1]):
            classes[key] = (' + '.join(st[2] for st in small.steps), sdata, sreport)
        fine_key = (tuple(sorted(st[2].split(';')[0] for st in small.steps)), tuple(sbad))
        if fine_key not in fine or len(sdata) < len(fine[fine_key][0]):
            fine[fine_key] = (sdata, sreport)
        if disagreements <= 20:
            if args.keep:
                out = keep(args.keep, 'disagreement-%d' % disagreements, data, report)
            print('FAIL disagreement %s.eml: %s' % (out, '; '.join(s[2] for s in m.steps)))
            print('     ' + '\n     '.join(report[len(m.steps) + 1:]))

    print('verdicts: ' + ', '.join('%s=%d' % kv for kv in sorted(verdict_count.items())))
    print('%-18s %6s %9s %13s' % ('mutation', 'pass', 'not pass', 'disagreements'))
    for step in sorted(mutate.MUTATIONS):
        p, np, d = per_mutation.get(step, (0, 0, 0))
        print('%-18s %6d %9d %13d' % (step, p, np, d))
    print('disagreement classes (mutations; readers that differ): %d' % len(classes))
    for (steps, bad), (descs, data, report) in sorted(classes.items()):
        print('  %s; %s: e.g. %s' % ('+'.join(steps), ','.join(bad), descs[:200]))
    if args.keep and fine:
        index = []
        for k, ((descs, bad), (data, report)) in enumerate(sorted(fine.items())):
            stem = keep(args.keep, 'finding-%03d' % (k + 1), data, report)
            index.append('%s\t%s\t%s' % (os.path.basename(stem), ','.join(bad), ' + '.join(descs)))
        with open(os.path.join(args.keep, 'index.tsv'), 'w') as f:
            f.write('\n'.join(index) + '\n')
        print('%d shrunk examples written to %s (index.tsv)' % (len(fine), args.keep))
    # A run that cannot fail is no test: both sides must be exercised.
    if not passing:
        failed += 1
        print('FAIL coverage: no mutant was pass, nothing was compared')
    if len(passing) == len(mutants):
        failed += 1
        print('FAIL coverage: every mutant was pass, nothing was refused')
    print('%d mutants: %d pass, %d not pass, %d disagreements' % (
        len(mutants), len(passing), len(mutants) - len(passing), disagreements))
    print('%d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
