-- Every RCPT is reduced to the address the MTA delivers to: spellings that
-- Postfix would clean up (comments, whitespace) are refused with a reply,
-- clean ones accepted; each gets a rcpt: log line (checked by the runner).
dofile(helper)
local conn = H.connect()
mt.macro(conn, SMFIC_MAIL, "i", "QRCPT")
H.check(mt.mailfrom(conn, "<x@a.example>") == nil, "mailfrom failed")
for _, bad in ipairs({"<carol@b.example (x)>", "<carol@ b.example>", "<carol@(x)b.example>"}) do
  H.check(mt.rcptto(conn, bad) == nil, "rcptto failed")
  H.check(mt.getreply(conn) == SMFIR_REPLYCODE, bad .. " not refused")
end
H.check(mt.rcptto(conn, "<carol@B.Example.>") == nil, "rcptto failed")
H.check(mt.getreply(conn) == SMFIR_CONTINUE, "clean recipient not accepted")
mt.disconnect(conn)
mt.echo("ok rcpt")
