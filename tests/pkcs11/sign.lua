-- sign.lua: one outbound message from the login `who` (-D who=alice|bob,
-- From: WHO@a.example) through the daemon (run-softhsm.sh). -D expect=signed: accepted with its body replaced (the
-- signature); -D expect=tempfail: refused with a reply code, body untouched.
-- -D qid=ID names the transaction in the daemon's log.
dofile(helper)
local conn = H.connect("198.51.100.20")
local reply = H.send(conn, who .. ".eml", qid, nil, who)
if expect == "signed" then
  H.check(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT,
          "not accepted, reply " .. tostring(reply))
  H.check(mt.eom_check(conn, MT_BODYCHANGE), "accepted but not signed")
else
  H.check(reply == SMFIR_REPLYCODE, "not refused, reply " .. tostring(reply))
  H.check(not mt.eom_check(conn, MT_BODYCHANGE), "refused mail was edited")
end
mt.disconnect(conn)
mt.echo("ok " .. qid)
