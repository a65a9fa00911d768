#!/usr/bin/env python3
"""check_log_lines.py: log lines against the interface of docs/logging.md.

  check_log_lines.py DOC lines FILE...    every line of the FILEs (log output)
  check_log_lines.py DOC sources SRCDIR   the log calls in the sources

lines: each line, after an optional "PROGRAM[PID]: " prefix, must be
"[SEVERITY: ][QUEUEID: ]EVENT: name=value, ..." with values as
docs/logging.md encodes them (no bare space, no raw quote inside a quoted
value, addresses in <>), one value per name (but the per-signer group of a
verify line), and the event and every field name documented in DOC (written
there as `name`).

sources: every field name a non-test source gives AppendField,
AppendAddressField, AppendSignerField or AppendSignerAddressField literally
(and the new name of a RenameField),
and every event a log call names, must be documented in DOC; the Signer
ones (which append without replacing an earlier field of the name) take
only the names of the per-signer group; no log call may carry a hand-built
"name=" string.

Prints one line per problem and exits 1 when there is one.
"""
import os
import re
import sys

SEVERITIES = ("warning", "error", "fatal", "panic")
# docs/logging.md, "One value per name": the per-signer group of a verify line.
REPEATED = {"chain", "signer", "from_store", "aia", "aia_url", "aia_why", "aia_path",
            "revocation", "revocation_source", "harvest", "harvest_error"}
FIELD = re.compile(r'^([a-z_]+)=(<[^<> ]*>|"[^"]*"|[^" <>]+)$')


def documented(doc):
    with open(doc, encoding="utf-8") as f:
        return set(re.findall(r"`([a-z_]+)`", f.read()))


def check_line(line, names):
    """Problems of one log line (a list of strings)."""
    m = None
    # With and without a "PROGRAM[PID]: " prefix (syslog, stderr).
    for rest in (line, re.sub(r"^[a-z-]+(\[\d+\])?: ", "", line)):
        for sev in SEVERITIES:
            if rest.startswith(sev + ": "):
                rest = rest[len(sev) + 2:]
                break
        m = re.match(r"^(?:[A-Za-z0-9]+: )?([a-z_]+): ([a-z_]+=.*)$", rest)
        if m:
            break
    if not m:
        return ["not EVENT: name=value, ...: " + line]
    event, fields = m.group(1), m.group(2)
    out = []
    if event not in names:
        out.append("event '%s' not in the doc: %s" % (event, line))
    seen = set()
    for field in fields.split(", "):
        f = FIELD.match(field)
        if not f:
            out.append("field '%s' is not name=value as encoded: %s" % (field, line))
            continue
        name = f.group(1)
        if name not in names:
            out.append("field '%s' not in the doc: %s" % (name, line))
        if name in seen and name not in REPEATED:
            out.append("field '%s' twice: %s" % (name, line))
        seen.add(name)
    return out


def check_sources(srcdir, names):
    out = []
    field_call = re.compile(r'Append(?:Signer)?(?:Address)?Field\(\s*[^,()]+,\s*"([a-z_]+)"')
    # RenameField(out, "from", "to"): the new name is a field name too.
    rename_call = re.compile(r'RenameField\(\s*[^,()]+,\s*"[a-z_]+",\s*"([a-z_]+)"')
    signer_call = re.compile(r'AppendSigner(?:Address)?Field\(\s*[^,()]+,\s*"([a-z_]+)"')
    # Log calls: Write(Severity::..., "event: " ...), and the daemon's helpers
    # that take the event as their second argument.
    event_call = re.compile(
        r'(?:Write\(\s*Severity::\w+,\s*(?:std::string\()?"|'
        r'(?:FileWarning|InternalError)\(\s*[^,()]+,\s*")([a-z_]+)(?:: |")')
    write_call = re.compile(r'Write\(\s*Severity::\w+,([^;]*);', re.S)
    for root, _, files in os.walk(srcdir):
        for fn in sorted(files):
            if not fn.endswith(".cc") or fn.endswith("_test.cc") or "/fuzz" in root:
                continue
            path = os.path.join(root, fn)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for name in field_call.findall(text) + rename_call.findall(text):
                if name not in names:
                    out.append("%s: field '%s' not in the doc" % (path, name))
            for name in signer_call.findall(text):
                if name not in REPEATED:
                    out.append("%s: field '%s' may repeat but is not of the per-signer group"
                               % (path, name))
            if "AppendOriginAndDetail(" in text:
                for name in ("origin", "detail"):
                    if name not in names:
                        out.append("%s: field '%s' not in the doc" % (path, name))
            for event in event_call.findall(text):
                if event not in names:
                    out.append("%s: event '%s' not in the doc" % (path, event))
            for call in write_call.findall(text):
                for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', call):
                    if re.search(r"[a-z_]=", literal):
                        out.append("%s: hand-built field in a log call: \"%s\"" % (path, literal))
    return out


def main(argv):
    if len(argv) < 4 or argv[2] not in ("lines", "sources"):
        sys.stderr.write(__doc__)
        return 2
    names = documented(argv[1])
    problems = []
    if argv[2] == "sources":
        problems = check_sources(argv[3], names)
    else:
        for path in argv[3:]:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    line = line.rstrip("\r\n")
                    if line:
                        problems += check_line(line, names)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
