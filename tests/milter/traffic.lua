-- Many messages on a few connections, for reloads during traffic (the
-- driver sends SIGUSR1 meanwhile). Every message must get a verdict.
dofile(helper)
for c = 1, 5 do
  local conn = H.connect()
  for i = 1, 20 do
    H.expect_verdict(conn, H.send(conn, "signed.eml", "QT" .. c .. "x" .. i), "pass")
  end
  mt.disconnect(conn)
end
mt.echo("ok traffic")
