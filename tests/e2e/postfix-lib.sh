# tests/e2e/postfix-lib.sh: a throwaway Postfix on 127.0.0.1 for end-to-end
# tests (sourced after tests/lib.sh).
#
# pf_setup BASE MILTER_SOCKET: writes BASE/etc/{main,master}.cf; mail to
#   @b.example is delivered to Maildirs under BASE/mail; port $PF_PORT is the
#   MTA (inbound), $PF_SUBMIT the submission service (milter_macro_daemon_name
#   = ORIGINATING, so outbound).
# pf_start / pf_stop: the master process in the foreground, stopped by PID.
# pf_wait_delivered N [SECONDS]: waits until N messages are in the Maildirs.
# e2e_messages DIR: the end-to-end test messages (signed, tampered,
#   forged = signed plus forged verdicts, outbound = unsigned), each with
#   Message-ID <NAME@a.example> so its delivery can be found.
# Requires root and Postfix; callers skip (exit 77) otherwise.

e2e_messages() {
  local d=$1
  sed -e 's/^From: .*/From: Alice <alice@a.example>/' -e 's/^Message-ID: .*/Message-ID: <signed@a.example>/' \
    "$top/tests/golden/message.eml" >"$d/plain.eml"
  "$top/tests/interop/sign-openssl.sh" "$pki" alice "$d/plain.eml" >"$d/signed.eml"
  sed -e 's/this message is signed/this message is forged/' \
    -e 's/^Message-ID: .*/Message-ID: <tampered@a.example>\r/' "$d/signed.eml" >"$d/tampered.eml"
  { printf 'Authentication-Results: MX.TEST; smime=pass\r\nAuthentication-Results: other.example; dkim=pass\r\n'
    printf 'Authentication-Results: mx.test.;\r\n\tsmime=pass\r\nAuthentication-Results: (x) mx.test; smime=pass\r\n'
    sed 's/^Message-ID: .*/Message-ID: <forged@a.example>\r/' "$d/signed.eml"; } >"$d/forged.eml"
  sed 's/^Message-ID: .*/Message-ID: <outbound@a.example>/' "$d/plain.eml" >"$d/outbound.eml"
  # Two top-level Content-Types: a client taking the first shows text/plain
  # (the signed part and the signature as text), GMime takes the last.
  { printf 'Content-Type: text/plain\r\n'
    sed 's/^Message-ID: .*/Message-ID: <dupct@a.example>\r/' "$d/signed.eml"; } >"$d/dupct.eml"
}

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port" >&2
  return 1
}

pf_setup() {
  PF_BASE=$1
  local sock=$2
  PF_PORT=$(free_port)
  PF_SUBMIT=$(free_port)
  mkdir -p "$PF_BASE/etc" "$PF_BASE/spool" "$PF_BASE/data" "$PF_BASE/mail"
  chown postfix "$PF_BASE/data"
  chown nobody "$PF_BASE/mail"
  printf 'carol@b.example carol/\ndave@b.example dave/\n' >"$PF_BASE/etc/vmailbox"
  cat >"$PF_BASE/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF_BASE/spool
data_directory = $PF_BASE/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test
mydomain = test
myorigin = a.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = $PF_BASE/maillog
maillog_file_prefixes = /var, /dev/stdout, $PF_BASE
smtpd_milters = unix:$sock
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
virtual_mailbox_domains = b.example
virtual_mailbox_base = $PF_BASE/mail
virtual_mailbox_maps = texthash:$PF_BASE/etc/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
default_process_limit = 50
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
in_flow_delay = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
CF
  cat >"$PF_BASE/etc/master.cf" <<CF
127.0.0.1:$PF_PORT inet n - n - - smtpd
127.0.0.1:$PF_SUBMIT inet n - n - - smtpd
  -o milter_macro_daemon_name=ORIGINATING
pickup    unix  n       -       n       5       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
  touch -d '-1 minute' "$PF_BASE"/etc/*
  postfix -c "$PF_BASE/etc" check >"$PF_BASE/check.log" 2>&1 || {
    echo "postfix check failed:"; cat "$PF_BASE/check.log"; return 1; }
}

pf_start() {
  /usr/lib/postfix/sbin/master -c "$PF_BASE/etc" -s >"$PF_BASE/master.out" 2>&1 &
  PF_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "postfix did not start:"; cat "$PF_BASE/master.out" "$PF_BASE/maillog" 2>/dev/null
  return 1
}

pf_stop() {
  [ -n "${PF_PID:-}" ] || return 0
  kill -TERM "$PF_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$PF_PID" 2>/dev/null || break; sleep 0.1; done
  PF_PID=
}

pf_delivered() { find "$PF_BASE/mail" -path '*/new/*' -type f 2>/dev/null | wc -l; }

pf_wait_delivered() {  # pf_wait_delivered N [SECONDS]
  local want=$1 limit=${2:-60} i
  for ((i = 0; i < limit * 10; i++)); do
    [ "$(pf_delivered)" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}
