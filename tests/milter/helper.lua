-- helper.lua: shared steps for the miltertest scenarios (tests/milter/*.lua).
-- Loaded with dofile(); expects -D sock=SOCKET and -D msgdir=DIR.
-- Every failure prints its reason with mt.echo before error(), because
-- miltertest exits 1 silently on error().
H = {}

function H.fail(why)
  mt.echo("FAIL: " .. why)
  error(why)
end

function H.check(ok, why)
  if not ok then H.fail(why) end
end

-- Connects and negotiates like Postfix 3.7 does (milter_protocol 6).
function H.connect(client_ip, macros)
  local conn = mt.connect(sock, 40, 0.25)
  H.check(conn ~= nil, "cannot connect to " .. sock)
  H.check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate failed")
  -- With SMFIP_HDR_LEADSPC the MTA sends (and expects back) header values
  -- with the space after the colon, as Postfix does.
  H.leadspc = mt.test_option(conn, SMFIP_HDR_LEADSPC)
  if macros then
    for name, value in pairs(macros) do mt.macro(conn, SMFIC_CONNECT, name, value) end
  end
  H.check(mt.conninfo(conn, "client.example", client_ip or "192.0.2.10") == nil, "conninfo failed")
  return conn
end

-- Reads an RFC 5322 file into headers {name, value} and a CRLF body,
-- presenting header values as an MTA does (leading space removed,
-- continuation lines joined by LF).
function H.read_message(path)
  local f = io.open(path, "rb")
  H.check(f ~= nil, "cannot read " .. path)
  local text = f:read("a")
  f:close()
  text = text:gsub("\r\n", "\n")
  local head, body = text:match("^(.-)\n\n(.*)$")
  H.check(head ~= nil, "no header/body separator in " .. path)
  local headers = {}
  for line in (head .. "\n"):gmatch("(.-)\n") do
    if line:match("^[ \t]") and #headers > 0 then
      headers[#headers].value = headers[#headers].value .. "\n" .. line
    else
      local name, value = line:match("^([^:]+):[ ]?(.*)$")
      H.check(name ~= nil, "bad header line in " .. path .. ": " .. line)
      headers[#headers + 1] = {name = name, value = value}
    end
  end
  return headers, body:gsub("\n", "\r\n")
end

-- DATA and the end of the header, unless the milter negotiated them away
-- (SMFIP_NODATA, SMFIP_NOEOH): then Postfix does not send them, and
-- miltertest refuses to.
function H.data(conn)
  if not mt.test_option(conn, SMFIP_NODATA) then H.check(mt.data(conn) == nil, "data failed") end
end

function H.eoh(conn)
  if not mt.test_option(conn, SMFIP_NOEOH) then H.check(mt.eoh(conn) == nil, "eoh failed") end
end

-- Sends one whole transaction from a message file; returns after EOM.
-- login, when given, is the SMTP AUTH name ({auth_authen}).
function H.send(conn, file, queue_id, extra_headers, login)
  local headers, body = H.read_message(msgdir .. "/" .. file)
  if login then
    mt.macro(conn, SMFIC_MAIL, "i", queue_id or "QTEST1", "{auth_authen}", login)
  else
    mt.macro(conn, SMFIC_MAIL, "i", queue_id or "QTEST1")
  end
  H.check(mt.mailfrom(conn, "<sender@a.example>") == nil, "mailfrom failed")
  H.check(mt.rcptto(conn, "<carol@b.example>") == nil, "rcptto failed")
  H.data(conn)
  local sp = H.leadspc and " " or ""
  for _, h in ipairs(extra_headers or {}) do
    H.check(mt.header(conn, h.name, sp .. h.value) == nil, "header failed")
  end
  for _, h in ipairs(headers) do
    H.check(mt.header(conn, h.name, sp .. h.value) == nil, "header failed: " .. h.name)
  end
  H.eoh(conn)
  H.check(mt.bodystring(conn, body) == nil, "body failed")
  H.check(mt.eom(conn) == nil, "eom failed")
  return mt.getreply(conn)
end

-- Asserts the message was accepted with our verdict inserted at the top.
function H.expect_verdict(conn, reply, verdict)
  H.check(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT,
          "message not accepted, reply " .. tostring(reply))
  local ar = mt.getheader(conn, "Authentication-Results", 0)
  H.check(ar ~= nil, "no Authentication-Results added")
  local want = H.leadspc and "^ mx%.test;" or "^mx%.test;"
  H.check(ar:find(want) ~= nil, "authserv-id not first in: '" .. ar .. "'")
  H.check(ar:find("smime=" .. verdict, 1, true) ~= nil, "expected smime=" .. verdict .. " in: " .. ar)
  H.check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", ar, 0),
          "Authentication-Results not inserted at index 0")
end
