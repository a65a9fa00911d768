#!/usr/bin/env python3
"""smtp-load.py HOST PORT COUNT SESSIONS FILE FROM RCPT [SOURCE_IP]: sends FILE COUNT times
over SESSIONS parallel SMTP sessions (each one connection, many messages),
as smtp-source -s does, but with a real message. Exits non-zero when any
message was refused. Used by tests/perf/run-postfix-load.sh. With SMTP_LOAD_CPU=FILE set, writes its own
CPU seconds (user + system, all threads) to FILE at the end."""
import os
import resource
import smtplib
import sys
import threading


def main():
    host, port, count, sessions, path, sender, rcpt = sys.argv[1:8]
    source = (sys.argv[8], 0) if len(sys.argv) > 8 else None
    port, count, sessions = int(port), int(count), int(sessions)
    with open(path, "rb") as f:
        data = f.read()
    failures = []

    def worker(n):
        try:
            with smtplib.SMTP(host, port, timeout=120, source_address=source) as s:
                for _ in range(n):
                    s.sendmail(sender, [rcpt], data)
        except Exception as e:  # reported, counted as a failure of the run
            failures.append(repr(e))

    share = [count // sessions + (1 if i < count % sessions else 0) for i in range(sessions)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in share if n > 0]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu_file = os.environ.get("SMTP_LOAD_CPU")
    if cpu_file:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with open(cpu_file, "w") as f:
            f.write("%.3f\n" % (ru.ru_utime + ru.ru_stime))
    if failures:
        print("smtp-load: %d session(s) failed: %s" % (len(failures), failures[0]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
