-- A tampered signed message gets smime=fail and is still delivered.
dofile(helper)
local conn = H.connect()
H.expect_verdict(conn, H.send(conn, "tampered.eml"), "fail")
mt.disconnect(conn)
mt.echo("ok tampered")
