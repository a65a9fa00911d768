-- Forged Authentication-Results with our authserv-id are deleted from
-- outbound mail too (submission, internal hosts and local pickup are all
-- outbound: mail re-injected there must not keep a verdict in our name);
-- a foreign one stays. Refused outbound mail gets no edits.
dofile(helper)
local forged = {
  {name = "Authentication-Results", value = "mx.test; smime=pass"},
  {name = "Authentication-Results", value = "other.example; dkim=pass"},
  {name = "Authentication-Results", value = "MX.TEST.; smime=pass"},
}
local conn = H.connect("192.0.2.10", {["{daemon_name}"] = "ORIGINATING"})
local reply = H.send(conn, "signed.eml", "QOUTFORGED", forged)
H.check(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT, "outbound not accepted")
H.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "forged headers not deleted")
H.check(not mt.eom_check(conn, MT_HDRINSERT), "outbound mail got a header")
H.check(not mt.eom_check(conn, MT_HDRADD), "outbound mail got a header")
mt.disconnect(conn)

conn = H.connect("198.51.100.20")
reply = H.send(conn, "unsigned.eml", "QOUTREFUSED", forged, "mallory")
H.check(reply == SMFIR_REPLYCODE, "unauthorised login not refused")
H.check(not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"),
        "refused mail was edited")
mt.disconnect(conn)
mt.echo("ok outbound-forged")
