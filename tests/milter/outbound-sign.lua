-- Outbound mail from a login that may not use its From: gets 451 4.7.1 and
-- is not signed. (Signing itself, a replaced body, is checked through real
-- Postfix and Sendmail in tests/e2e: miltertest 1.0 overflows its stack on
-- a replaced body larger than its read buffer.)
dofile(helper)
local conn = H.connect("198.51.100.20")
local reply = H.send(conn, "unsigned.eml", "QNOAUTH", nil, "mallory")
H.check(reply == SMFIR_REPLYCODE, "unauthorised login not refused")
H.check(not mt.eom_check(conn, MT_BODYCHANGE), "unauthorised mail was signed")
mt.disconnect(conn)
mt.echo("ok outbound-sign")
