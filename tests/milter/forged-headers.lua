-- Three forged Authentication-Results with our authserv-id (case and
-- trailing-dot variants, one with a comment) are deleted; a foreign one stays.
dofile(helper)
local conn = H.connect()
local reply = H.send(conn, "signed.eml", "QFORGED", {
  {name = "Authentication-Results", value = "MX.TEST; smime=pass"},
  {name = "Authentication-Results", value = "other.example; dkim=pass"},
  {name = "Authentication-Results", value = "mx.test.;\n\tsmime=pass"},
  {name = "Authentication-Results", value = "(forged) mx.test; smime=pass"},
})
H.expect_verdict(conn, reply, "pass")
H.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "forged headers not deleted")
mt.disconnect(conn)
mt.echo("ok forged-headers")
