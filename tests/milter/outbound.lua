-- Mail from an ORIGINATING daemon or an authenticated client is outbound:
-- no verdict header is added (signing is a later feature).
dofile(helper)
local conn = H.connect("192.0.2.10", {["{daemon_name}"] = "ORIGINATING"})
local reply = H.send(conn, "signed.eml", "QOUT")
H.check(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT, "outbound not accepted")
H.check(not mt.eom_check(conn, MT_HDRINSERT), "outbound mail got a header")
H.check(not mt.eom_check(conn, MT_HDRADD), "outbound mail got a header")
mt.disconnect(conn)
mt.echo("ok outbound")
