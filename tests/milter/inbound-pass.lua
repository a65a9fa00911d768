-- A valid signed message gets smime=pass, inserted first.
dofile(helper)
local conn = H.connect()
H.expect_verdict(conn, H.send(conn, "signed.eml"), "pass")
mt.disconnect(conn)
mt.echo("ok inbound-pass")
