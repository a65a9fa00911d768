// tests/perf/noop-milter: a milter that does nothing and accepts every
// message, negotiating exactly the protocol smime-milter negotiates
// (milter/protocol: the same steps, unanswered steps and macros). Run by
// tests/perf/run-postfix-load.sh --noop as a third Postfix instance's
// milter: its cost per message is the floor of the milter protocol itself
// (Postfix's side and libmilter's), against which smime-milter's own cost
// is read (docs/performance.md, "Through Postfix").
//
// Usage: noop-milter [--least] unix:/path/to/socket (the socket is made
// mode 0666; SIGTERM stops it). --least asks for the least protocol any
// milter can: no reply to any step, no HELO, DATA, end-of-header or unknown
// step, no macros; the floor below which no milter gets.
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "milter/protocol.h"

namespace {

bool g_least = false;

struct Conn {
  bool no_header_reply = false;
  bool no_data_reply = false;
  bool no_eoh_reply = false;
};

Conn* Get(SMFICTX* ctx) { return static_cast<Conn*>(smfi_getpriv(ctx)); }

sfsistat Negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                   unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
  smime::ProtocolChoice p = smime::ChooseProtocol(f0, f1);
  if (!p.ok) return SMFIS_REJECT;
  if (g_least) {
    p.steps = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NR_CONN |
                    SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_DATA |
                    SMFIP_HDR_LEADSPC);
    p.no_header_reply = p.no_data_reply = p.no_eoh_reply = true;
  }
  auto c = std::make_unique<Conn>();
  c->no_header_reply = p.no_header_reply;
  c->no_data_reply = p.no_data_reply;
  c->no_eoh_reply = p.no_eoh_reply;
  if (smfi_setpriv(ctx, c.get()) != MI_SUCCESS) return SMFIS_TEMPFAIL;
  c.release();  // owned by the libmilter context until Close
  *pf0 = p.actions;
  *pf1 = p.steps;
  *pf2 = 0;
  *pf3 = 0;
  if (g_least) {
    for (int step : {SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT, SMFIM_DATA, SMFIM_EOH,
                     SMFIM_EOM})
      smfi_setsymlist(ctx, step, const_cast<char*>("{none}"));
  } else {
    smime::RequestMacros(ctx, f0);
  }
  return SMFIS_CONTINUE;
}

sfsistat Continue(SMFICTX*) { return SMFIS_CONTINUE; }
sfsistat Step(SMFICTX*) { return g_least ? SMFIS_NOREPLY : SMFIS_CONTINUE; }
sfsistat Connect(SMFICTX*, char*, _SOCK_ADDR*) { return Step(nullptr); }
sfsistat Envelope(SMFICTX*, char**) { return Step(nullptr); }
sfsistat Data(SMFICTX* ctx) {
  Conn* c = Get(ctx);
  return c && c->no_data_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
sfsistat Eoh(SMFICTX* ctx) {
  Conn* c = Get(ctx);
  return c && c->no_eoh_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
sfsistat Header(SMFICTX* ctx, char*, char*) {
  Conn* c = Get(ctx);
  return c && c->no_header_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
sfsistat Body(SMFICTX*, unsigned char*, size_t) { return Step(nullptr); }
sfsistat Close(SMFICTX* ctx) {
  std::unique_ptr<Conn> c(Get(ctx));
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--least") == 0) {
    g_least = true;
    --argc;
    ++argv;
  }
  if (argc != 2 || std::strncmp(argv[1], "unix:", 5) != 0) {
    std::fprintf(stderr, "usage: noop-milter [--least] unix:/path/to/socket\n");
    return 2;
  }
  struct smfiDesc d = {};
  d.xxfi_name = const_cast<char*>("noop-milter");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_SETSYMLIST;
  d.xxfi_connect = Connect;
  d.xxfi_envfrom = Envelope;
  d.xxfi_envrcpt = Envelope;
  d.xxfi_header = Header;
  d.xxfi_body = Body;
  d.xxfi_eom = Continue;
  d.xxfi_abort = Continue;
  d.xxfi_close = Close;
  d.xxfi_data = Data;
  d.xxfi_eoh = Eoh;
  d.xxfi_negotiate = Negotiate;
  if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(d) != MI_SUCCESS ||
      smfi_opensocket(true) != MI_SUCCESS) {
    std::fprintf(stderr, "noop-milter: cannot open %s\n", argv[1]);
    return 1;
  }
  if (chmod(argv[1] + 5, 0666) != 0) {
    std::perror("noop-milter: chmod");
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
