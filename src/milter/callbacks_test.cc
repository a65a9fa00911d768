// Unit tests for milter/callbacks: the error paths of the RCPT step, driven
// through the real callbacks (MilterDescription()) with a stand-in for
// libmilter.
//
// The test links callbacks.cc without libmilter: the smfi_* functions the
// callbacks call are defined here (a link-time seam, nothing in the
// production build changes) and record replies, header edits and body
// replacement on a fake SMFICTX. The runtime is a real one (BuildRuntime)
// whose recipient directory is a fake source with real certificates from
// src/testing/test_pki. Two failures are injected:
// - the source throws for one address: AddRecipient's own catch refuses
//   that recipient only (451 4.3.0, rcpt: line with error=), the
//   transaction goes on and is encrypted;
// - the log sink throws std::bad_alloc while the RCPT step writes its
//   rcpt: line, i.e. an exception escapes the RCPT step after AddRecipient
//   changed the transaction (as an allocation failure there would): the
//   transaction is poisoned, so the following RCPTs and end of data
//   tempfail (451 4.3.0) and nothing is written to the message; the next
//   transaction on the connection starts clean.
#include "milter/callbacks.h"

#include <dirent.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <openssl/cms.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/testing.h"
#include "config/config.h"
#include "engine/runtime.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

// --- the libmilter stand-in -------------------------------------------------

struct smfi_str {
  void* priv = nullptr;
  std::map<std::string, std::string> macros;
  std::string reply;  // "CODE XCODE TEXT" of the last smfi_setreply
  std::vector<std::string> header_edits;
  std::string body;  // what smfi_replacebody wrote
  int replacebody_calls = 0;
  size_t largest_replacebody = 0;
};

// Set by a test: smfi_insheader and smfi_addheader refuse a value containing it, and
// smfi_chgheader the deletion with this ordinal (as the MTA may refuse an
// edit).
std::string g_refuse_insert;
int g_refuse_delete = 0;
// Set by a test: smfi_replacebody fails on its call with this number (1:
// the first), as when the MTA's connection breaks mid-body.
int g_refuse_body_call = 0;
// Set by a test: smfi_replacebody throws on its call with this number, as
// an exception (std::bad_alloc) in the milter while the body goes out.
int g_throw_body_call = 0;

extern "C" {
char* smfi_getsymval(SMFICTX* ctx, char* name) {
  auto it = ctx->macros.find(name);
  return it == ctx->macros.end() ? nullptr : const_cast<char*>(it->second.c_str());
}
int smfi_setpriv(SMFICTX* ctx, void* p) {
  ctx->priv = p;
  return MI_SUCCESS;
}
void* smfi_getpriv(SMFICTX* ctx) { return ctx->priv; }
int smfi_setreply(SMFICTX* ctx, char* code, char* xcode, char* text) {
  ctx->reply = std::string(code) + " " + xcode + " " + text;
  return MI_SUCCESS;
}
int smfi_setsymlist(SMFICTX*, int, char*) { return MI_SUCCESS; }
int smfi_chgheader(SMFICTX* ctx, char* name, int index, char* value) {
  if (!value && index == g_refuse_delete) return MI_FAILURE;
  ctx->header_edits.push_back(std::string("chg ") + name + " " + std::to_string(index) + ":" +
                              (value ? value : "(delete)"));
  return MI_SUCCESS;
}
int smfi_addheader(SMFICTX* ctx, char* name, char* value) {
  if (!g_refuse_insert.empty() && std::string(value).find(g_refuse_insert) != std::string::npos)
    return MI_FAILURE;
  ctx->header_edits.push_back(std::string("add ") + name + ":" + value);
  return MI_SUCCESS;
}
int smfi_insheader(SMFICTX* ctx, int index, char* name, char* value) {
  if (!g_refuse_insert.empty() && std::string(value).find(g_refuse_insert) != std::string::npos)
    return MI_FAILURE;
  ctx->header_edits.push_back(std::string("ins ") + std::to_string(index) + " " + name + ":" +
                              value);
  return MI_SUCCESS;
}
int smfi_replacebody(SMFICTX* ctx, unsigned char* data, int len) {
  if (++ctx->replacebody_calls == g_refuse_body_call) return MI_FAILURE;
  if (ctx->replacebody_calls == g_throw_body_call) throw std::bad_alloc();
  ctx->largest_replacebody = std::max(ctx->largest_replacebody, static_cast<size_t>(len));
  ctx->body.append(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
  return MI_SUCCESS;
}
}

namespace smime {
namespace {

using testpki::BuildTestRuntime;
using testpki::CertSpec;
using testpki::DeleteFixture;
using testpki::Issued;
using testpki::MakeCa;
using testpki::MakeLeaf;
using testpki::MakeSubCa;
using testpki::MakeTestDir;
using testpki::SmimeSpec;

CertSpec EncSpec(const std::string& address) {
  CertSpec s = SmimeSpec(address);
  s.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  return s;
}

// Keeps every line; throws std::bad_alloc instead of writing a line that
// contains throw_on (an exception escaping the step that logs it).
class RecordingLog final : public LogSink {
 public:
  void Write(Severity sev, const std::string& line) override {
    if (!throw_on.empty() && line.find(throw_on) != std::string::npos) throw std::bad_alloc();
    lines.push_back(SeverityPrefix(sev) + line);
  }
  size_t Count(const std::string& part) const {
    size_t n = 0;
    for (const std::string& l : lines) n += l.find(part) != std::string::npos;
    return n;
  }
  std::vector<std::string> lines;
  std::string throw_on;
};

// Answers from a fixed list; throws for one address.
class FakeSource final : public CertSource {
 public:
  const char* Name() const override { return "fake"; }
  Status Find(const std::string& address, const Deadline&,
              std::vector<CertCandidate>* out) const override {
    if (strcasecmp(address.c_str(), throw_for.c_str()) == 0)
      throw std::runtime_error("directory exploded");
    for (const auto& e : entries) {
      if (strcasecmp(e.first.c_str(), address.c_str()) != 0) continue;
      CertCandidate c;
      X509_up_ref(e.second);
      c.cert.reset(e.second);
      c.trust = CertTrust::kAdmin;
      c.source = "fake";
      X509_up_ref(chain);
      c.chain.emplace_back(chain);
      out->push_back(std::move(c));
    }
    return Status::Ok();
  }
  std::vector<std::pair<std::string, X509*>> entries;
  X509* chain = nullptr;
  std::string throw_for;
};

struct Fixture {
  Issued root, inter, carol, dan, alice;
  std::string dir;
  RuntimeHolder holder;
  RecordingLog log;
  FixedClock clock{testpki::kNow};
  FakeSource* source = nullptr;  // owned by the runtime
  smfiDesc desc = {};
  // Contexts live here, not in the test frames (a failing assertion
  // longjmps past destructors).
  std::vector<std::unique_ptr<SMFICTX>> contexts;
};
Fixture* g = nullptr;

bool UseEncryptingRuntime(const std::string& extra = "");

int SetUp(void**) {
  g = new Fixture;
  g->root = MakeCa("Root");
  g->inter = MakeSubCa("Inter", g->root);
  g->carol = MakeLeaf(EncSpec("carol@b.example"), g->inter);
  g->dan = MakeLeaf(EncSpec("dan@b.example"), g->inter);
  g->alice = MakeLeaf(SmimeSpec("alice@a.example"), g->inter);
  g->dir = MakeTestDir("callbacks_test", g->root);
  if (g->dir.empty()) return -1;
  if (!UseEncryptingRuntime()) return -1;
  SetMilterGlobals({&g->holder, &g->log, &g->clock});
  g->desc = MilterDescription();
  return 0;
}

// A runtime from the test configuration plus extra lines.
std::unique_ptr<Runtime> TestRuntime(const std::string& extra, std::string state_dir = "") {
  if (state_dir.empty()) state_dir = g->dir;
  std::unique_ptr<Runtime> rt;
  Status st = BuildTestRuntime(
      g->dir,
      "state_dir = " + state_dir + "\nrevocation = off\ncertificate_sources = local\n" + extra,
      &rt);
  if (!st.ok()) return nullptr;
  return rt;
}

// The runtime of most tests: b.example encrypt = required, recipients from
// the fake source.
bool UseEncryptingRuntime(const std::string& extra) {
  std::unique_ptr<Runtime> rt = TestRuntime(extra);
  if (!rt) return false;
  auto source = std::make_unique<FakeSource>();
  g->source = source.get();
  source->entries = {{"carol@b.example", g->carol.cert.get()},
                     {"dan@b.example", g->dan.cert.get()}};
  source->chain = g->inter.cert.get();
  source->throw_for = "boom@b.example";
  rt->directory = RecipientDirectory();
  rt->directory.AddSource(std::move(source));
  DomainRules b = rt->rules;
  b.encrypt = EncryptMode::kRequired;
  rt->domain_rules["b.example"] = b;
  rt->any_encryption = true;
  g->holder.Set(std::move(rt));
  return true;
}

int TearDown(void**) { return DeleteFixture(g); }

SMFICTX* NewContext() {
  g->contexts.push_back(std::make_unique<SMFICTX>());
  return g->contexts.back().get();
}

int Reset(void**) {
  g->log.lines.clear();
  g->log.throw_on.clear();
  g_refuse_insert.clear();
  g_refuse_delete = 0;
  g_refuse_body_call = 0;
  g_throw_body_call = 0;
  return UseEncryptingRuntime() ? 0 : -1;
}

char kBody[] = "Confidential: the numbers stay between us.\r\n";

// One connection from 192.0.2.7 (outside internal_hosts: the inbound
// direction, which encrypts to required domains as every direction does).
void Connect(SMFICTX* ctx) {
  ctx->macros["i"] = "QID1";
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(0xC0000207);
  assert_int_equal(g->desc.xxfi_connect(ctx, const_cast<char*>("client.test"),
                                        reinterpret_cast<sockaddr*>(&sin)),
                   SMFIS_CONTINUE);
}

sfsistat Rcpt(SMFICTX* ctx, const char* addr) {
  ctx->reply.clear();
  char* argv[] = {const_cast<char*>(addr), nullptr};
  return g->desc.xxfi_envrcpt(ctx, argv);
}

void MailFrom(SMFICTX* ctx) {
  char* argv[] = {const_cast<char*>("<alice@a.example>"), nullptr};
  assert_int_equal(g->desc.xxfi_envfrom(ctx, argv), SMFIS_CONTINUE);
}

// What the header and DATA steps answer: SMFIS_NOREPLY once the MTA
// agreed to SMFIP_NR_HDR / SMFIP_NR_DATA (Negotiate below).
sfsistat g_header_reply = SMFIS_CONTINUE;
sfsistat g_body_reply = SMFIS_CONTINUE;  // SMFIS_NOREPLY after SMFIP_NR_BODY

// Headers and body, then end of data; returns its status.
sfsistat Data(SMFICTX* ctx) {
  ctx->reply.clear();
  const char* headers[][2] = {{"From", "Alice <alice@a.example>"},
                              {"To", "Carol <carol@b.example>"},
                              {"Subject", "numbers"},
                              {"Message-ID", "<1@a.example>"},
                              {"MIME-Version", "1.0"},
                              {"Content-Type", "text/plain; charset=us-ascii"}};
  for (auto& h : headers)
    assert_int_equal(g->desc.xxfi_header(ctx, const_cast<char*>(h[0]), const_cast<char*>(h[1])),
                     g_header_reply);
  assert_int_equal(
      g->desc.xxfi_body(ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
      g_body_reply);
  return g->desc.xxfi_eom(ctx);
}

bool Edited(const SMFICTX& ctx, const std::string& part) {
  for (const std::string& e : ctx.header_edits)
    if (e.find(part) != std::string::npos) return true;
  return false;
}

// The replaced body is enveloped-data that carol's key decrypts to content
// holding the original body.
bool DecryptsForCarol(const std::string& body) {
  std::string mime =
      "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=enveloped-data; name=\"smime.p7m\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      body;
  BioPtr in(BIO_new_mem_buf(mime.data(), static_cast<int>(mime.size())));
  CMS_ContentInfo* cms = SMIME_read_CMS(in.get(), nullptr);
  if (!cms) return false;
  BioPtr out(BIO_new(BIO_s_mem()));
  const int ok = CMS_decrypt(cms, g->carol.key.get(), g->carol.cert.get(), nullptr, out.get(), 0);
  CMS_ContentInfo_free(cms);
  if (ok != 1) return false;
  char* p = nullptr;
  const long n = BIO_get_mem_data(out.get(), &p);
  return std::string(p, static_cast<size_t>(n)).find("the numbers stay between us") !=
         std::string::npos;
}

void Close(SMFICTX* ctx) { g->desc.xxfi_close(ctx); }

// Baseline: a clean transaction to carol is encrypted to her.
void TestCleanTransactionEncrypts(void**) {
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(Data(&ctx), SMFIS_CONTINUE);
  assert_true(ctx.replacebody_calls > 0);
  assert_true(Edited(ctx, "smime-type=enveloped-data"));
  assert_true(ctx.body.find("the numbers stay") == std::string::npos);
  assert_true(DecryptsForCarol(ctx.body));
  assert_int_equal(g->log.Count("QID1: rcpt: to=<carol@b.example>, domain=b.example"), 1);
  Close(&ctx);
}

// The daemon's counters see what the callbacks decided: one recipient
// accepted, one refused (tempfail), the message accepted, no panic.
void TestCallbacksCountMetrics(void**) {
  Metrics metrics;
  SetMilterGlobals({&g->holder, &g->log, &g->clock, &metrics});
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(Rcpt(&ctx, "<boom@b.example>"), SMFIS_TEMPFAIL);
  assert_int_equal(Data(&ctx), SMFIS_CONTINUE);
  Close(&ctx);
  SetMilterGlobals({&g->holder, &g->log, &g->clock});
  const std::string text = metrics.Render(nullptr, 0);
  assert_non_null(strstr(text.c_str(), "smime_milter_rcpt_total{disposition=\"accept\"} 1\n"));
  assert_non_null(strstr(text.c_str(), "smime_milter_rcpt_total{disposition=\"tempfail\"} 1\n"));
  assert_non_null(strstr(text.c_str(), ",disposition=\"accept\"} 1\n"));
  assert_null(strstr(text.c_str(), "smime_milter_panics_total"));
}

// Postfix offers every protocol step flag: the milter asks for no DATA and
// no end-of-header step, no reply to headers (and to DATA and the end of
// the header, should an MTA send them anyway), answers those steps with
// SMFIS_NOREPLY, and the message is judged with all its headers.
void TestNoReplySteps(void**) {
  SMFICTX& ctx = *NewContext();
  const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
  const unsigned long offered = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_HDR | SMFIP_NR_DATA |
                                SMFIP_NOEOH | SMFIP_NR_EOH | SMFIP_NODATA | SMFIP_HDR_LEADSPC |
                                SMFIP_SKIP | SMFIP_NR_BODY | SMFIP_NR_MAIL | SMFIP_NR_RCPT;
  const unsigned long asked =
      SMFIP_NR_HDR | SMFIP_NR_DATA | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NOEOH | SMFIP_NODATA;
  unsigned long f0 = 0, f1 = 0, f2 = 0, f3 = 0;
  assert_int_equal(g->desc.xxfi_negotiate(&ctx, actions, offered, 0, 0, &f0, &f1, &f2, &f3),
                   SMFIS_CONTINUE);
  assert_int_equal(f1 & asked, asked);
  // MAIL and RCPT may refuse (an internal error, a recipient's policy).
  assert_int_equal(f1 & (SMFIP_NR_MAIL | SMFIP_NR_RCPT), 0);
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(g->desc.xxfi_data(&ctx), SMFIS_NOREPLY);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  g_header_reply = SMFIS_NOREPLY;
  ctx.reply.clear();
  const char* headers[][2] = {{"From", "Alice <alice@a.example>"},
                              {"To", "Carol <carol@b.example>"},
                              {"Subject", "numbers"},
                              {"Message-ID", "<1@a.example>"},
                              {"MIME-Version", "1.0"},
                              {"Content-Type", "text/plain; charset=us-ascii"}};
  for (auto& h : headers)
    assert_int_equal(g->desc.xxfi_header(&ctx, const_cast<char*>(h[0]), const_cast<char*>(h[1])),
                     SMFIS_NOREPLY);
  assert_int_equal(g->desc.xxfi_eoh(&ctx), SMFIS_NOREPLY);  // sent anyway: no reply
  assert_int_equal(
      g->desc.xxfi_body(&ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
      SMFIS_NOREPLY);
  sfsistat eom = g->desc.xxfi_eom(&ctx);
  g_header_reply = SMFIS_CONTINUE;
  assert_int_equal(eom, SMFIS_CONTINUE);
  assert_true(DecryptsForCarol(ctx.body));
  Close(&ctx);
  // Without the flags offered (an older MTA): replies as before.
  SMFICTX& old = *NewContext();
  f1 = 0;
  assert_int_equal(g->desc.xxfi_negotiate(&old, actions, SMFIP_NOHELO, 0, 0, &f0, &f1, &f2, &f3),
                   SMFIS_CONTINUE);
  assert_int_equal(f1 & asked, 0);
  assert_int_equal(g->desc.xxfi_data(&old), SMFIS_CONTINUE);
  assert_int_equal(g->desc.xxfi_eoh(&old), SMFIS_CONTINUE);
  Close(&old);
}

// AddRecipient catches the failure of its own judgement: that recipient
// gets 451 4.3.0 and its rcpt: line names the error; the transaction is
// not poisoned, the next recipient is judged and the message encrypted.
void TestRecipientErrorRefusesThatRecipientOnly(void**) {
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<boom@b.example>"), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("QID1: rcpt: to=<boom@b.example>, error=\"directory exploded\", "
                                "action=tempfail"),
                   1);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(Data(&ctx), SMFIS_CONTINUE);
  assert_true(ctx.reply.empty());
  assert_true(DecryptsForCarol(ctx.body));
  assert_int_equal(g->log.Count("panic"), 0);
  Close(&ctx);
}

// An exception escaping the RCPT step (here from writing its log line,
// after AddRecipient added dan to the transaction) poisons the
// transaction: dan gets 451 4.3.0, so does every later RCPT (without being
// judged), and end of data tempfails without touching the message. The
// next MAIL FROM starts a clean transaction.
void TestRcptPanicPoisonsTransaction(void**) {
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  g->log.throw_on = "rcpt: to=<dan@b.example>";
  assert_int_equal(Rcpt(&ctx, "<dan@b.example>"), SMFIS_TEMPFAIL);
  g->log.throw_on.clear();
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("QID1: panic: error=\"envrcpt: std::bad_alloc\", action=tempfail"),
                   1);
  // Poisoned: a later recipient is not judged (erin has no certificate: a
  // fresh transaction would answer 550 5.7.1) but tempfailed.
  assert_int_equal(Rcpt(&ctx, "<erin@b.example>"), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("rcpt: to=<erin@b.example>"), 0);
  assert_int_equal(
      g->log.Count(
          "QID1: panic: error=\"envrcpt: earlier envrcpt: std::bad_alloc\", action=tempfail"),
      1);
  assert_int_equal(Data(&ctx), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(ctx.replacebody_calls, 0);
  assert_true(ctx.header_edits.empty());
  assert_int_equal(g->log.Count("QID1: panic: error=\"eom: earlier envrcpt: std::bad_alloc\", "
                                "action=tempfail"),
                   1);
  assert_int_equal(g->log.Count(": verify: "), 0);
  assert_int_equal(g->log.Count(": outbound: "), 0);

  // The next transaction on the same connection is judged afresh.
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<erin@b.example>"), SMFIS_REJECT);
  assert_true(ctx.reply.rfind("550 5.7.1 ", 0) == 0);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(Data(&ctx), SMFIS_CONTINUE);
  assert_true(DecryptsForCarol(ctx.body));
  Close(&ctx);
}

// An abort (RSET, or the client quits) forgets the poisoned transaction.
void TestAbortClearsPoison(void**) {
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  g->log.throw_on = "rcpt: to=<dan@b.example>";
  assert_int_equal(Rcpt(&ctx, "<dan@b.example>"), SMFIS_TEMPFAIL);
  g->log.throw_on.clear();
  assert_int_equal(g->desc.xxfi_abort(&ctx), SMFIS_CONTINUE);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(Data(&ctx), SMFIS_CONTINUE);
  assert_true(DecryptsForCarol(ctx.body));
  Close(&ctx);
}

// Inbound headers with two verdicts forged in our name around a foreign
// one, then body_chunks chunks of body, then end of data; returns its status.
sfsistat ForgedData(SMFICTX* ctx, int body_chunks, sfsistat body_answer) {
  ctx->reply.clear();
  const char* headers[][2] = {{"Authentication-Results", "mx.example.net; smime=pass"},
                              {"From", "Alice <alice@a.example>"},
                              {"Authentication-Results", "other.example; dkim=pass"},
                              {"Authentication-Results", "MX.EXAMPLE.NET.;\n\tsmime=pass"},
                              {"Subject", "numbers"},
                              {"MIME-Version", "1.0"},
                              {"Content-Type", "text/plain; charset=us-ascii"}};
  for (auto& h : headers)
    assert_int_equal(g->desc.xxfi_header(ctx, const_cast<char*>(h[0]), const_cast<char*>(h[1])),
                     SMFIS_CONTINUE);
  for (int i = 0; i < body_chunks; ++i)
    assert_int_equal(
        g->desc.xxfi_body(ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
        body_answer);
  return g->desc.xxfi_eom(ctx);
}

// A body that cannot be spooled (state_dir gone; a full one is
// "spool-full", body_spool_test) is an error, not a panic: its reason and
// the reply in the log line, 451 4.3.0 to the client, nothing written.
void TestSpoolFailureIsAnError(void**) {
  g->holder.Set(TestRuntime("spool_memory_limit = 0\n", "/nonexistent/smime-spool"));
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  const char* h[][2] = {{"From", "Alice <alice@a.example>"}, {"Subject", "numbers"}};
  for (auto& x : h)
    assert_int_equal(g->desc.xxfi_header(&ctx, const_cast<char*>(x[0]), const_cast<char*>(x[1])),
                     SMFIS_CONTINUE);
  assert_int_equal(
      g->desc.xxfi_body(&ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
      SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("error: QID1: body: error=\"cannot create spool file in "
                                "/nonexistent/smime-spool: No such file or directory\", "
                                "reason=spool-failed, action=tempfail, reply=\"451 4.3.0\""),
                   1);
  assert_int_equal(g->log.Count("panic"), 0);
  assert_true(ctx.header_edits.empty());
  Close(&ctx);
}

// A refusal after signing, through the milter: the received body fits in
// memory, the signed one does not and its spool cannot be made (state_dir
// gone). The one log line has one action, tempfail, with the spool's
// reason, and signing's format and digest (docs/logging.md, "A later step
// replaces a field").
void TestSpoolRefusalAfterSigningLogsOneAction(void**) {
  std::unique_ptr<Runtime> rt = TestRuntime(
      "spool_memory_limit = 4096\nsign = opaque\ninternal_hosts = 192.0.2.0/24\n"
      "signing_relays = 192.0.2.0/24\n",
      "/nonexistent/smime-spool");
  assert_non_null(rt.get());
  assert_true(
      rt->identities.Add(testpki::TestIdentity("alice@a.example", g->alice, g->inter)).ok());
  g->holder.Set(std::move(rt));
  g->log.lines.clear();
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<partner@c.example>"), SMFIS_CONTINUE);
  const char* h[][2] = {{"From", "Alice <alice@a.example>"}, {"Subject", "numbers"}};
  for (auto& x : h)
    assert_int_equal(g->desc.xxfi_header(&ctx, const_cast<char*>(x[0]), const_cast<char*>(x[1])),
                     SMFIS_CONTINUE);
  for (int i = 0; i < 70; ++i)  // about 3 KB: under spool_memory_limit
    assert_int_equal(
        g->desc.xxfi_body(&ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
        SMFIS_CONTINUE);
  assert_int_equal(g->desc.xxfi_eom(&ctx), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("error: QID1: outbound: "), 1);
  assert_int_equal(g->log.Count("identity=alice@a.example, format=opaque, digest=sha256, "
                                "reencoded=no, action=tempfail, reason=spool-failed, ms="),
                   1);
  assert_int_equal(g->log.Count("action=signed"), 0);
  for (const std::string& l : g->log.lines) {
    size_t actions = 0;
    for (size_t at = l.find(", action="); at != std::string::npos; at = l.find(", action=", at + 1))
      ++actions;
    assert_true(actions <= 1);
  }
  assert_true(ctx.header_edits.empty());
  assert_true(ctx.body.empty());
  Close(&ctx);
}

// With no reply to body chunks (SMFIP_NR_BODY) the same failure is
// answered at end of data with the same reply, after the same one error
// line; the rest of the body is dropped and nothing is edited.
void TestSpoolFailureAnsweredAtEndOfData(void**) {
  g->holder.Set(TestRuntime("spool_memory_limit = 0\n", "/nonexistent/smime-spool"));
  SMFICTX& ctx = *NewContext();
  const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
  unsigned long f0 = 0, f1 = 0, f2 = 0, f3 = 0;
  assert_int_equal(
      g->desc.xxfi_negotiate(&ctx, actions, SMFIP_NR_HDR | SMFIP_NR_BODY, 0, 0, &f0, &f1, &f2, &f3),
      SMFIS_CONTINUE);
  assert_true((f1 & SMFIP_NR_BODY) != 0);
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  const char* h[][2] = {{"From", "Alice <alice@a.example>"}, {"Subject", "numbers"}};
  for (auto& x : h)
    assert_int_equal(g->desc.xxfi_header(&ctx, const_cast<char*>(x[0]), const_cast<char*>(x[1])),
                     SMFIS_NOREPLY);
  for (int chunk = 0; chunk < 2; ++chunk)
    assert_int_equal(
        g->desc.xxfi_body(&ctx, reinterpret_cast<unsigned char*>(kBody), sizeof kBody - 1),
        SMFIS_NOREPLY);
  assert_true(ctx.reply.empty());
  assert_int_equal(g->desc.xxfi_eom(&ctx), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("error: QID1: body: error=\"cannot create spool file in "
                                "/nonexistent/smime-spool: No such file or directory\", "
                                "reason=spool-failed, action=tempfail, reply=\"451 4.3.0\""),
                   1);
  assert_int_equal(g->log.Count("panic"), 0);
  assert_true(ctx.header_edits.empty());
  assert_int_equal(ctx.replacebody_calls, 0);
  // The next transaction on the connection is judged on its own.
  assert_true(UseEncryptingRuntime());
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  g_header_reply = g_body_reply = SMFIS_NOREPLY;
  sfsistat eom = Data(&ctx);
  g_header_reply = g_body_reply = SMFIS_CONTINUE;
  assert_int_equal(eom, SMFIS_CONTINUE);
  assert_true(DecryptsForCarol(ctx.body));
  Close(&ctx);
}

// internal_error_action = accept: a failure in the milter (here the body
// spool) does not accept the message at once with the forged verdicts in
// it. The message is poisoned, the rest of the body dropped, and end of
// data deletes both verdicts in our name (not the foreign one) and writes
// ours, temperror, at the top; accepted.
void TestAcceptPanicStillRemovesForged(void**) {
  g->holder.Set(
      TestRuntime("spool_memory_limit = 0\ninternal_error_action = accept\n", "/nonexistent/x"));
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 3, SMFIS_CONTINUE), SMFIS_CONTINUE);
  assert_true(ctx.reply.empty());
  assert_int_equal(ctx.header_edits.size(), 3);
  assert_string_equal(ctx.header_edits[0].c_str(), "chg Authentication-Results 3:(delete)");
  assert_string_equal(ctx.header_edits[1].c_str(), "chg Authentication-Results 1:(delete)");
  assert_string_equal(ctx.header_edits[2].c_str(),
                      "ins 0 Authentication-Results:mx.example.net;\n\tsmime=temperror "
                      "reason=internal-error");
  assert_int_equal(ctx.replacebody_calls, 0);
  assert_int_equal(g->log.Count("error: QID1: body: error=\"cannot create spool file in "
                                "/nonexistent/x: No such file or directory\", reason=spool-failed, "
                                "action=poisoned"),
                   1);
  // One value per name: no second reason on the spool's line.
  assert_int_equal(g->log.Count("action=poisoned, reason="), 0);
  assert_int_equal(g->log.Count("panic: QID1: panic: error=\"body: spool-failed: cannot create "
                                "spool file in /nonexistent/x: No such file or directory\", "
                                "action=accept, reason=internal_error_action, "
                                "result=temperror, removed=2"),
                   1);
  assert_int_equal(g->log.Count(": verify: "), 0);
  // The next message on the connection is judged normally (no spool
  // needed: the body fits in memory now).
  g->holder.Set(TestRuntime("internal_error_action = accept\n", "/nonexistent/x"));
  ctx.header_edits.clear();
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  assert_int_equal(g->log.Count("QID1: verify: "), 1);
  assert_int_equal(ctx.header_edits.size(), 3);
  assert_true(ctx.header_edits[2].find("smime=none") != std::string::npos);
  Close(&ctx);
}

// internal_error_action = accept and an edit the MTA refuses at end of data
// (our verdict header): the poisoned end applies what it still can, our
// temperror header, without deleting again what was deleted already.
void TestAcceptEditFailureWritesTemperror(void**) {
  g->holder.Set(TestRuntime("internal_error_action = accept\n", "/nonexistent/x"));
  g_refuse_insert = "smime=none";
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  assert_int_equal(ctx.header_edits.size(), 3);
  assert_string_equal(ctx.header_edits[0].c_str(), "chg Authentication-Results 3:(delete)");
  assert_string_equal(ctx.header_edits[1].c_str(), "chg Authentication-Results 1:(delete)");
  assert_true(ctx.header_edits[2].find("smime=temperror reason=internal-error") !=
              std::string::npos);
  assert_int_equal(g->log.Count("panic: QID1: panic: error=\"eom: insert Authentication-Results "
                                "failed\", action=poisoned, reason=internal_error_action"),
                   1);
  // Deleted once (above), and the log says so.
  assert_int_equal(g->log.Count("action=accept, reason=internal_error_action, "
                                "result=temperror, removed=2"),
                   1);

  // Not even the temperror header goes in: accepted as the administrator
  // chose, the failure logged.
  g_refuse_insert = "smime=";
  ctx.header_edits.clear();
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  assert_int_equal(ctx.header_edits.size(), 2);  // the deletions only
  assert_int_equal(
      g->log.Count("edits=failed, edits_error=\"insert Authentication-Results failed\""), 1);
  Close(&ctx);
}

// A deletion the MTA refuses after another was applied: the poisoned end
// does not send deletions again (the ordinals would now point at other
// headers), says the forged verdicts may remain, and still writes ours.
void TestAcceptDeletionFailure(void**) {
  g->holder.Set(TestRuntime("internal_error_action = accept\n", "/nonexistent/x"));
  g_refuse_delete = 1;
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  assert_int_equal(ctx.header_edits.size(), 2);
  assert_string_equal(ctx.header_edits[0].c_str(), "chg Authentication-Results 3:(delete)");
  assert_true(ctx.header_edits[1].find("ins 0 Authentication-Results:mx.example.net;\n\tsmime="
                                       "temperror reason=internal-error") == 0);
  assert_int_equal(
      g->log.Count("error=\"eom: delete Authentication-Results failed\", action=poisoned"), 1);
  assert_int_equal(g->log.Count("result=temperror, forged=unknown, forged_why=deletion-failed"), 1);
  Close(&ctx);
}

// Under tempfail (the default) the same edit failure is 451 4.3.0.
void TestEditFailureTempfails(void**) {
  g->holder.Set(TestRuntime("", "/nonexistent/x"));
  g_refuse_insert = "smime=none";
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_TEMPFAIL);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("panic: QID1: panic: error=\"eom: insert Authentication-Results "
                                "failed\", action=tempfail"),
                   1);
  Close(&ctx);
}

int FilesIn(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// Headers, then a body of 24 chunks of about 10 KB, then end of data.
sfsistat LargeData(SMFICTX* ctx) {
  ctx->reply.clear();
  const char* headers[][2] = {{"From", "Alice <alice@a.example>"},
                              {"To", "Carol <carol@b.example>"},
                              {"Subject", "numbers"},
                              {"Content-Type", "text/plain; charset=us-ascii"}};
  for (auto& h : headers)
    assert_int_equal(g->desc.xxfi_header(ctx, const_cast<char*>(h[0]), const_cast<char*>(h[1])),
                     SMFIS_CONTINUE);
  std::string chunk;
  while (chunk.size() < 10000) chunk += kBody;
  for (int i = 0; i < 24; ++i)
    assert_int_equal(
        g->desc.xxfi_body(ctx, reinterpret_cast<unsigned char*>(&chunk[0]), chunk.size()),
        SMFIS_CONTINUE);
  return g->desc.xxfi_eom(ctx);
}

// Issue 11: a new body larger than spool_memory_limit. The received body
// and the engine's new one wait in state_dir (unlinked files: the folder
// shows nothing), and the glue copies the new one to the MTA in 64 KB
// smfi_replacebody calls whose concatenation is the envelope carol
// decrypts.
void TestLargeBodyStreamedInSlices(void**) {
  assert_true(UseEncryptingRuntime("spool_memory_limit = 4096\n"));
  const int files = FilesIn(g->dir);
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(LargeData(&ctx), SMFIS_CONTINUE);
  assert_true(ctx.replacebody_calls >= 5);  // 240 KB as base64 of the envelope
  assert_int_equal(ctx.largest_replacebody, 65536);
  assert_true(ctx.body.size() > 240000);
  assert_true(Edited(ctx, "smime-type=enveloped-data"));
  assert_true(DecryptsForCarol(ctx.body));
  assert_int_equal(FilesIn(g->dir), files);
  assert_int_equal(g->log.Count("reason=body-replace-failed"), 0);
  Close(&ctx);
}

// A body slice the MTA refuses after the first one went out: the MTA
// holds a partial body, so the answer is a tempfail (451 4.3.0, the reason
// logged) - also under internal_error_action = accept, which must not let
// a truncated body through.
void TestBodySliceFailureTempfails(void**) {
  for (const char* extra : {"spool_memory_limit = 4096\n",
                            "spool_memory_limit = 4096\ninternal_error_action = accept\n"}) {
    assert_true(UseEncryptingRuntime(extra));
    g->log.lines.clear();
    g_refuse_body_call = 2;
    SMFICTX& ctx = *NewContext();
    Connect(&ctx);
    MailFrom(&ctx);
    assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
    assert_int_equal(LargeData(&ctx), SMFIS_TEMPFAIL);
    assert_int_equal(ctx.replacebody_calls, 2);
    assert_string_equal(ctx.reply.c_str(),
                        "451 4.3.0 Internal error in the S/MIME filter, try again later");
    assert_int_equal(g->log.Count("error: QID1: verify: error=\"replace body failed\", "
                                  "reason=body-replace-failed, action=tempfail, "
                                  "reply=\"451 4.3.0\""),
                     1);
    assert_int_equal(g->log.Count("poisoned"), 0);
    Close(&ctx);
  }
}

// An exception after the first body slice went out, under
// internal_error_action = accept: the poisoned message must not be
// accepted with the partial body the MTA holds; a tempfail, the reason
// logged.
void TestBodyExceptionUnderAcceptTempfails(void**) {
  assert_true(UseEncryptingRuntime("spool_memory_limit = 4096\ninternal_error_action = accept\n"));
  g->log.lines.clear();
  g_throw_body_call = 2;
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(LargeData(&ctx), SMFIS_TEMPFAIL);
  assert_int_equal(ctx.replacebody_calls, 2);
  assert_string_equal(ctx.reply.c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_int_equal(g->log.Count("reason=body-replace-failed, action=tempfail"), 1);
  Close(&ctx);
}

// A header edit of an encrypting outcome refused after the old
// Content-Type was deleted: the MTA holds the old body under headers that
// no longer describe it, so the answer is a tempfail also under
// internal_error_action = accept (before: accepted as poisoned, the
// Content-Type gone).
void TestHeaderEditFailureOfNewBodyTempfails(void**) {
  for (const char* extra : {"", "internal_error_action = accept\n"}) {
    assert_true(UseEncryptingRuntime(extra));
    g->log.lines.clear();
    g_refuse_insert = "smime-type=enveloped-data";
    SMFICTX& ctx = *NewContext();
    Connect(&ctx);
    MailFrom(&ctx);
    assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
    assert_int_equal(LargeData(&ctx), SMFIS_TEMPFAIL);
    assert_true(Edited(ctx, "Content-Type 1:(delete)"));
    assert_int_equal(ctx.replacebody_calls, 0);
    assert_string_equal(ctx.reply.c_str(),
                        "451 4.3.0 Internal error in the S/MIME filter, try again later");
    assert_int_equal(g->log.Count("reason=body-replace-failed, action=tempfail"), 1);
    assert_int_equal(g->log.Count("poisoned"), 0);
    Close(&ctx);
  }
}

// The verdict's edits all went to the MTA, then the verdict's log line
// throws: the message is accepted as decided with our edits only (no
// smime=temperror on top), and one panic line says the decision stood.
void TestExceptionAfterEditsKeepsDecision(void**) {
  g->holder.Set(TestRuntime("internal_error_action = accept\n", "/nonexistent/x"));
  g->log.lines.clear();
  g->log.throw_on = "QID1: verify: ";
  SMFICTX& ctx = *NewContext();
  Connect(&ctx);
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  g->log.throw_on.clear();
  assert_true(ctx.reply.empty());
  assert_int_equal(ctx.header_edits.size(), 3);
  assert_string_equal(ctx.header_edits[0].c_str(), "chg Authentication-Results 3:(delete)");
  assert_string_equal(ctx.header_edits[1].c_str(), "chg Authentication-Results 1:(delete)");
  assert_true(ctx.header_edits[2].find("smime=none") != std::string::npos);
  for (const std::string& e : ctx.header_edits)
    assert_true(e.find("smime=temperror") == std::string::npos);
  assert_int_equal(g->log.Count("panic: QID1: panic: error=\"eom: after the decision: "
                                "std::bad_alloc\", action=accept, reason=decided"),
                   1);
  assert_int_equal(g->log.Count("action=poisoned"), 0);
  assert_int_equal(g->log.Count("reason=internal_error_action"), 0);
  // Under internal_error_action = tempfail too: the decision stands, not a
  // tempfail for a message the MTA already holds edited.
  g->holder.Set(TestRuntime("", "/nonexistent/x"));
  g->log.lines.clear();
  g->log.throw_on = "QID1: verify: ";
  ctx.header_edits.clear();
  MailFrom(&ctx);
  assert_int_equal(Rcpt(&ctx, "<carol@b.example>"), SMFIS_CONTINUE);
  assert_int_equal(ForgedData(&ctx, 1, SMFIS_CONTINUE), SMFIS_CONTINUE);
  g->log.throw_on.clear();
  assert_true(ctx.reply.empty());
  assert_int_equal(ctx.header_edits.size(), 3);
  assert_true(ctx.header_edits[2].find("smime=none") != std::string::npos);
  assert_int_equal(g->log.Count("action=accept, reason=decided"), 1);
  assert_int_equal(g->log.Count("action=tempfail"), 0);
  Close(&ctx);
}

}  // namespace
}  // namespace smime

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(smime::TestCleanTransactionEncrypts, smime::Reset),
      cmocka_unit_test_setup(smime::TestCallbacksCountMetrics, smime::Reset),
      cmocka_unit_test_setup(smime::TestNoReplySteps, smime::Reset),
      cmocka_unit_test_setup(smime::TestRecipientErrorRefusesThatRecipientOnly, smime::Reset),
      cmocka_unit_test_setup(smime::TestRcptPanicPoisonsTransaction, smime::Reset),
      cmocka_unit_test_setup(smime::TestAbortClearsPoison, smime::Reset),
      cmocka_unit_test_setup(smime::TestSpoolFailureIsAnError, smime::Reset),
      cmocka_unit_test_setup(smime::TestSpoolRefusalAfterSigningLogsOneAction, smime::Reset),
      cmocka_unit_test_setup(smime::TestSpoolFailureAnsweredAtEndOfData, smime::Reset),
      cmocka_unit_test_setup(smime::TestAcceptPanicStillRemovesForged, smime::Reset),
      cmocka_unit_test_setup(smime::TestAcceptEditFailureWritesTemperror, smime::Reset),
      cmocka_unit_test_setup(smime::TestAcceptDeletionFailure, smime::Reset),
      cmocka_unit_test_setup(smime::TestEditFailureTempfails, smime::Reset),
      cmocka_unit_test_setup(smime::TestLargeBodyStreamedInSlices, smime::Reset),
      cmocka_unit_test_setup(smime::TestBodySliceFailureTempfails, smime::Reset),
      cmocka_unit_test_setup(smime::TestBodyExceptionUnderAcceptTempfails, smime::Reset),
      cmocka_unit_test_setup(smime::TestHeaderEditFailureOfNewBodyTempfails, smime::Reset),
      cmocka_unit_test_setup(smime::TestExceptionAfterEditsKeepsDecision, smime::Reset),
  };
  return cmocka_run_group_tests(tests, smime::SetUp, smime::TearDown);
}
