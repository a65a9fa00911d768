-- send.lua: one inbound message through the smime-milter daemon, expecting
-- smime=VERDICT in the inserted Authentication-Results (run-revocation.sh's
-- daemon cases: in-memory OCSP cache, circuit breaker).
-- miltertest -D sock=SOCKET -D msgdir=DIR -D helper=tests/milter/helper.lua
--            -D msg=FILE -D qid=QUEUEID -D verdict=pass|fail|temperror|...
-- Fails (exit 1, "FAIL: ..." on stdout) if the verdict differs.
dofile(helper)
local conn = H.connect()
H.expect_verdict(conn, H.send(conn, msg, qid), verdict)
mt.disconnect(conn)
mt.echo("ok " .. qid .. " " .. verdict)
