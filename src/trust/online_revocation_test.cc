// Unit tests for trust/online_revocation: CRL scope (RFC 5280 6.3.3), CRLs
// carried in the message, and the age limit of OCSP answers without
// nextUpdate, and the milter step's deadline over a chain of slow fetches
// (each capped by what is left, none after it, the breaker untouched).
// Real CRLs and OCSP responses are built in-process by testing/test_pki at
// the pinned time kNow and served by a fake HTTP fetcher that answers by
// URL and counts requests; a slow one moves a ManualClock instead of
// waiting.
#include "trust/online_revocation.h"

#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/testing.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

const char kDp1[] = "http://crl.test/part1.crl";
const char kDp2[] = "http://crl.test/part2.crl";
const char kOcsp[] = "http://ocsp.test/";
const char kOcspSub[] = "http://ocsp.test/sub";
const char kDpSub[] = "http://crl.test/sub.crl";
constexpr std::time_t kDay = 86400;

struct Fixture {
  Issued ca;
  Issued leaf_dp1;   // CRL distribution point kDp1 (partition 1), no OCSP
  Issued leaf_ocsp;  // OCSP at kOcsp, no distribution point
  Issued leaf_none;  // neither
  Issued other;      // another leaf of ca, listed in some CRLs
  Issued sub_dp1;    // a CA certificate under ca, distribution point kDp1
  Issued sub_both;   // a CA under ca with OCSP (kOcspSub) and a distribution point (kDpSub)
  Issued leaf_both;  // under sub_both, with OCSP (kOcsp) and a distribution point (kDp1)
  std::string dir;   // scratch folder: one state_dir per checker
  int dirs = 0;
};
Fixture* g_fx = nullptr;

// What a request to a URL returns: the body, or a refused connection.
// With a clock, every request "takes" delay_ms: the clock moves by that
// much, or by the request's timeout, which then fails, when it is longer.
struct Server {
  std::map<std::string, std::string> bodies;
  int fetches = 0;
  ManualClock* clock = nullptr;
  long delay_ms = 0;
  std::vector<long> timeouts;  // timeout_ms of every request
};

class FakeFetcher final : public HttpFetcher {
 public:
  explicit FakeFetcher(Server* server) : server_(server) {}
  Status Fetch(const HttpRequest& req, std::string* body) override {
    ++server_->fetches;
    server_->timeouts.push_back(req.timeout_ms);
    if (server_->clock) server_->clock->Advance(std::min(server_->delay_ms, req.timeout_ms));
    if (server_->delay_ms > req.timeout_ms)
      return Status::Io("timeout after " + std::to_string(req.timeout_ms) + " ms");
    auto it = server_->bodies.find(req.url);
    if (it == server_->bodies.end()) return Status::Io("connection refused");
    *body = it->second;
    return Status::Ok();
  }

 private:
  Server* server_;
};

struct Harness {
  Server server;
  std::string state_dir;
  std::unique_ptr<OnlineRevocationChecker> checker;
};
std::unique_ptr<Harness> g_h;  // global: cmocka's longjmp must not skip its destructor

struct Setup {
  explicit Setup(std::vector<std::string> o = {"ocsp", "crl"}, long max_age = 3600,
                 std::vector<std::string> local = {})
      : order(std::move(o)), ocsp_max_age(max_age), local_crls(std::move(local)) {}
  std::vector<std::string> order;
  long ocsp_max_age;
  std::vector<std::string> local_crls;  // DER, given as crl_files
};

// A fresh checker with its own state_dir (or the previous one: a restart).
void Start(const Setup& s, bool keep_state = false) {
  std::string state = keep_state && g_h ? g_h->state_dir : "";
  Server server = keep_state && g_h ? g_h->server : Server();
  g_h.reset(new Harness);
  g_h->server = server;
  g_h->server.clock = nullptr;  // the test that wants one sets it
  g_h->state_dir = state.empty() ? g_fx->dir + "/state" + std::to_string(++g_fx->dirs) : state;
  mkdir(g_h->state_dir.c_str(), 0700);
  RevocationOptions o;
  o.order = s.order;
  o.ocsp_max_age = s.ocsp_max_age;
  o.state_dir = g_h->state_dir;
  for (size_t i = 0; i < s.local_crls.size(); ++i) {
    std::string path = g_h->state_dir + "/local" + std::to_string(i) + ".crl";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << s.local_crls[i];
    o.crl_files.push_back(path);
  }
  Status st = OnlineRevocationChecker::Create(
      o, std::unique_ptr<HttpFetcher>(new FakeFetcher(&g_h->server)), &g_h->checker);
  if (!st.ok()) fail_msg("Create: %s", st.message().c_str());
}

// Plain values copied out of the checker's answer.
struct Outcome {
  RevocationStatus status = RevocationStatus::kNotChecked;
  bool from_cache = false;
  int fetches = 0;  // requests during this check
  bool deadline = false;
  char detail[256] = {};
};

// Checks cert (issued by g_fx->ca) with the CRLs carried in the message.
Outcome Check(X509* cert, const std::vector<std::string>& carried, std::time_t now = kNow) {
  Outcome o;
  {
    X509StackPtr chain = Stack({cert, g_fx->ca.cert.get()});
    std::unique_ptr<STACK_OF(X509_CRL), void (*)(STACK_OF(X509_CRL)*)> crls(
        sk_X509_CRL_new_null(),
        [](STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); });
    for (const std::string& der : carried) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
      X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
      if (crl) sk_X509_CRL_push(crls.get(), crl);
    }
    int before = g_h->server.fetches;
    ChainRevocation r =
        g_h->checker->Check(chain.get(), carried.empty() ? nullptr : crls.get(), now, Deadline());
    o.status = r.overall.status;
    o.from_cache = r.overall.from_cache;
    o.fetches = g_h->server.fetches - before;
    std::snprintf(o.detail, sizeof o.detail, "%s", r.overall.detail.c_str());
  }
  return o;
}

void Expect(const Outcome& o, RevocationStatus want, const char* label) {
  if (o.status != want)
    fail_msg("%s: got %s (%s), want %s", label, RevocationStatusName(o.status), o.detail,
             RevocationStatusName(want));
}

// Neither good nor revoked: hard revocation gives temperror.
void ExpectNoAnswer(const Outcome& o, const char* label) {
  if (o.status != RevocationStatus::kUnknown && o.status != RevocationStatus::kUnavailable)
    fail_msg("%s: got %s (%s), want unknown or unavailable", label, RevocationStatusName(o.status),
             o.detail);
}

void ExpectDetail(const Outcome& o, const char* part, const char* label) {
  if (!std::strstr(o.detail, part)) fail_msg("%s: detail '%s' lacks '%s'", label, o.detail, part);
}

CrlSpec Crl(std::vector<X509*> revoked, std::time_t last = kNow - 2 * 3600, long number = 1) {
  CrlSpec c;
  c.revoked = std::move(revoked);
  c.last_update = last;
  c.number = number;
  return c;
}

CrlSpec Partition(const char* url, std::vector<X509*> revoked, std::time_t last = kNow - 2 * 3600,
                  long number = 1) {
  CrlSpec c = Crl(std::move(revoked), last, number);
  c.idp_urls = {url};
  return c;
}

// Checks leaf_both -> sub_both -> ca within deadline.
Outcome CheckBoth(const Deadline& deadline) {
  Outcome o;
  {
    X509StackPtr chain =
        Stack({g_fx->leaf_both.cert.get(), g_fx->sub_both.cert.get(), g_fx->ca.cert.get()});
    int before = g_h->server.fetches;
    ChainRevocation r = g_h->checker->Check(chain.get(), nullptr, kNow, deadline);
    o.status = r.overall.status;
    o.from_cache = r.overall.from_cache;
    o.deadline = r.overall.deadline;
    o.fetches = g_h->server.fetches - before;
    std::snprintf(o.detail, sizeof o.detail, "%s", r.overall.detail.c_str());
  }
  return o;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->ca = MakeCa("Revocation Test CA");
  CertSpec dp1 = SmimeSpec("dp1@r.example");
  dp1.crl_urls = {kDp1};
  g_fx->leaf_dp1 = MakeLeaf(dp1, g_fx->ca);
  CertSpec ocsp = SmimeSpec("ocsp@r.example");
  ocsp.ocsp_urls = {kOcsp};
  g_fx->leaf_ocsp = MakeLeaf(ocsp, g_fx->ca);
  g_fx->leaf_none = MakeLeaf(SmimeSpec("none@r.example"), g_fx->ca);
  g_fx->other = MakeLeaf(SmimeSpec("other@r.example"), g_fx->ca);
  CertSpec sub;
  sub.common_name = "Revocation Test Sub CA";
  sub.ca = true;
  sub.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  sub.crl_urls = {kDp1};
  g_fx->sub_dp1 = MakeLeaf(sub, g_fx->ca);
  sub.common_name = "Revocation Test Sub CA 2";
  sub.crl_urls = {kDpSub};
  sub.ocsp_urls = {kOcspSub};
  g_fx->sub_both = MakeLeaf(sub, g_fx->ca);
  CertSpec both = SmimeSpec("both@r.example");
  both.crl_urls = {kDp1};
  both.ocsp_urls = {kOcsp};
  g_fx->leaf_both = MakeLeaf(both, g_fx->sub_both);
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/online_revocation_test.XXXXXX";
  if (!mkdtemp(&templ[0])) return -1;
  g_fx->dir = templ;
  return 0;
}

int TearDown(void**) {
  g_h.reset();
  nftw(g_fx->dir.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  delete g_fx;
  g_fx = nullptr;
  return 0;
}

// (a) The CRL at the certificate's distribution point is partition 1 and
// lists it; a newer CRL of partition 2 carried in the message must not
// replace it.
void TestOtherPartitionCarried(void**) {
  X509* leaf = g_fx->leaf_dp1.cert.get();
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Partition(kDp1, {leaf}), g_fx->ca);
  std::string p2 = MakeCrl(Partition(kDp2, {}, kNow - 600, 2), g_fx->ca);
  Expect(Check(leaf, {p2}), RevocationStatus::kRevoked, "newer partition-2 CRL carried");
  // Control: the same CRL as partition 1 would be used (it is newer).
  std::string p1 = MakeCrl(Partition(kDp1, {}, kNow - 600, 2), g_fx->ca);
  Expect(Check(leaf, {p1}), RevocationStatus::kGood, "newer partition-1 CRL carried");
}

// (a) The distribution point itself answers with another partition's CRL
// (a mix-up, or an attacker on the plain-HTTP path).
void TestOtherPartitionServed(void**) {
  X509* leaf = g_fx->leaf_dp1.cert.get();
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Partition(kDp2, {}), g_fx->ca);
  Outcome o = Check(leaf, {});
  ExpectNoAnswer(o, "partition-2 CRL at partition 1's URL");
  ExpectDetail(o, "crl-distribution-point-mismatch", "partition-2 CRL at partition 1's URL");
  // Positive: the matching partition works, both ways.
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Partition(kDp1, {}), g_fx->ca);
  Expect(Check(leaf, {}), RevocationStatus::kGood, "partition-1 CRL, not listed");
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Partition(kDp1, {leaf}), g_fx->ca);
  Expect(Check(leaf, {}), RevocationStatus::kRevoked, "partition-1 CRL, listed");
  // An IDP with several names matches when any one is the certificate's.
  Start(Setup{{"crl"}});
  CrlSpec both = Partition(kDp2, {leaf});
  both.idp_urls.push_back(kDp1);
  g_h->server.bodies[kDp1] = MakeCrl(both, g_fx->ca);
  Expect(Check(leaf, {}), RevocationStatus::kRevoked, "IDP naming partitions 2 and 1");
}

// An IDP with a distribution point name never covers a certificate
// without cRLDistributionPoints (here: a local crl_files CRL).
void TestIdpNameWithoutCertDp(void**) {
  X509* leaf = g_fx->leaf_none.cert.get();
  Start(Setup{{"crl"}, 3600, {MakeCrl(Partition(kDp1, {}), g_fx->ca)}});
  Outcome o = Check(leaf, {});
  ExpectNoAnswer(o, "partition CRL for a certificate without distribution point");
  ExpectDetail(o, "crl-distribution-point-mismatch", "no distribution point");
  // Control: a full CRL (no IDP) as crl_files covers it.
  Start(Setup{{"crl"}, 3600, {MakeCrl(Crl({}), g_fx->ca)}});
  Expect(Check(leaf, {}), RevocationStatus::kGood, "full local CRL");
  Start(Setup{{"crl"}, 3600, {MakeCrl(Crl({leaf}), g_fx->ca)}});
  Expect(Check(leaf, {}), RevocationStatus::kRevoked, "full local CRL, listed");
}

// onlyContainsUserCerts / CACerts / AttributeCerts against the
// certificate; onlySomeReasons and indirectCRL are refused.
void TestIdpScopeFlags(void**) {
  X509* leaf = g_fx->leaf_dp1.cert.get();
  X509* sub = g_fx->sub_dp1.cert.get();
  struct Case {
    const char* label;
    X509* cert;
    void (*set)(CrlSpec*);
    bool usable;
    const char* why;
  } cases[] = {
      {"onlyUser, leaf", leaf, [](CrlSpec* c) { c->only_user = true; }, true, ""},
      {"onlyUser, CA", sub, [](CrlSpec* c) { c->only_user = true; }, false, "crl-scope-mismatch"},
      {"onlyCA, CA", sub, [](CrlSpec* c) { c->only_ca = true; }, true, ""},
      {"onlyCA, leaf", leaf, [](CrlSpec* c) { c->only_ca = true; }, false, "crl-scope-mismatch"},
      {"onlyAttr, leaf", leaf, [](CrlSpec* c) { c->only_attr = true; }, false,
       "crl-scope-mismatch"},
      {"onlySomeReasons", leaf, [](CrlSpec* c) { c->only_some_reasons = 1 << 1; }, false,
       "partial-crl-not-supported"},
      {"indirectCRL", leaf, [](CrlSpec* c) { c->indirect = true; }, false,
       "indirect-crl-not-supported"},
  };
  for (const Case& k : cases) {
    Start(Setup{{"crl"}});
    CrlSpec spec = Partition(kDp1, {k.cert});  // lists the certificate: usable means revoked
    k.set(&spec);
    g_h->server.bodies[kDp1] = MakeCrl(spec, g_fx->ca);
    Outcome o = Check(k.cert, {});
    if (k.usable) {
      Expect(o, RevocationStatus::kRevoked, k.label);
    } else {
      ExpectNoAnswer(o, k.label);
      ExpectDetail(o, k.why, k.label);
    }
  }
}

// Critical extensions we do not understand, on the CRL or on an entry
// (even another certificate's), make the whole CRL unusable: unknown, not
// good.
void TestUnknownCriticalExtensions(void**) {
  X509* leaf = g_fx->leaf_dp1.cert.get();
  X509* other = g_fx->other.cert.get();
  Start(Setup{{"crl"}});
  CrlSpec entry = Crl({other});
  entry.entry_unknown_critical_ext = true;
  g_h->server.bodies[kDp1] = MakeCrl(entry, g_fx->ca);
  Outcome o = Check(leaf, {});
  Expect(o, RevocationStatus::kUnknown, "critical private entry extension");
  ExpectDetail(o, "crl-entry-unknown-critical-extension", "entry extension");
  Start(Setup{{"crl"}});
  CrlSpec whole = Crl({other});
  whole.unknown_critical_ext = true;
  g_h->server.bodies[kDp1] = MakeCrl(whole, g_fx->ca);
  o = Check(leaf, {});
  Expect(o, RevocationStatus::kUnknown, "critical private CRL extension");
  ExpectDetail(o, "crl-unknown-critical-extension", "CRL extension");
  // An issuingDistributionPoint that does not parse is not "no IDP".
  Start(Setup{{"crl"}});
  CrlSpec bad_idp = Crl({other});
  bad_idp.malformed_idp = true;
  g_h->server.bodies[kDp1] = MakeCrl(bad_idp, g_fx->ca);
  o = Check(leaf, {});
  Expect(o, RevocationStatus::kUnknown, "malformed issuingDistributionPoint");
  ExpectDetail(o, "crl-idp-unreadable", "malformed IDP");
  // Control: the same CRL without them.
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Crl({other}), g_fx->ca);
  Expect(Check(leaf, {}), RevocationStatus::kGood, "plain CRL listing another certificate");
}

// (b) OCSP only, responder unreachable: an old CRL carried in the message
// (from before the revocation) must not stand in.
void TestCarriedCrlNeverAlone(void**) {
  std::string old_crl = MakeCrl(Crl({}, kNow - kDay), g_fx->ca);
  Start(Setup());
  Outcome o = Check(g_fx->leaf_ocsp.cert.get(), {old_crl});
  ExpectNoAnswer(o, "OCSP down, carried CRL");
  if (o.fetches != 1) fail_msg("OCSP down: %d requests, want 1", o.fetches);
  // No source at all but a carried CRL: unknown, not good and not no-source.
  Start(Setup());
  o = Check(g_fx->leaf_none.cert.get(), {old_crl});
  Expect(o, RevocationStatus::kUnknown, "no source, carried CRL");
  ExpectDetail(o, "carried", "no source, carried CRL");
  Start(Setup());
  Expect(Check(g_fx->leaf_none.cert.get(), {}), RevocationStatus::kNoSource, "no source");
  // Distribution point unreachable: the carried CRL does not stand in either.
  Start(Setup());
  ExpectNoAnswer(Check(g_fx->leaf_dp1.cert.get(), {old_crl}), "distribution point down");
  // ...but a local crl_files CRL (the administrator's) still counts alone.
  Start(Setup{{"ocsp", "crl"}, 3600, {MakeCrl(Crl({}), g_fx->ca)}});
  Expect(Check(g_fx->leaf_ocsp.cert.get(), {old_crl}), RevocationStatus::kGood,
         "OCSP down, local CRL");
}

// A carried CRL next to the distribution point's: the same one is fine, a
// later one of the same scope may be used, an older one never wins.
void TestCarriedCrlWithDp(void**) {
  X509* leaf = g_fx->leaf_dp1.cert.get();
  std::string dp = MakeCrl(Crl({}, kNow - 2 * 3600, 5), g_fx->ca);
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = dp;
  Expect(Check(leaf, {dp}), RevocationStatus::kGood, "carried CRL equal to the fetched one");
  Expect(Check(leaf, {dp}), RevocationStatus::kGood, "carried CRL equal to the cached one");
  std::string newer = MakeCrl(Crl({leaf}, kNow - 600, 6), g_fx->ca);
  Expect(Check(leaf, {newer}), RevocationStatus::kRevoked, "newer carried CRL listing it");
  // Later lastUpdate but a lower cRLNumber: not a later CRL.
  std::string renumbered = MakeCrl(Crl({}, kNow - 600, 4), g_fx->ca);
  Start(Setup{{"crl"}});
  g_h->server.bodies[kDp1] = MakeCrl(Crl({leaf}, kNow - 2 * 3600, 5), g_fx->ca);
  Expect(Check(leaf, {renumbered}), RevocationStatus::kRevoked, "carried CRL, lower number");
  std::string older = MakeCrl(Crl({}, kNow - 3 * 3600, 4), g_fx->ca);
  Expect(Check(leaf, {older}), RevocationStatus::kRevoked, "older carried CRL");
}

// Checks cert with issuer as the next certificate of the chain (no carried CRLs).
Outcome CheckUnder(X509* cert, X509* issuer) {
  Outcome o;
  {
    X509StackPtr chain = Stack({cert, issuer});
    ChainRevocation r = g_h->checker->Check(chain.get(), nullptr, kNow, Deadline());
    o.status = r.overall.status;
    std::snprintf(o.detail, sizeof o.detail, "%s", r.overall.detail.c_str());
  }
  return o;
}

// A CRL's signature, once verified for a kept (local or cached) CRL, is
// remembered for that CRL object and that issuer certificate only: a
// look-alike issuer (same name, other key) never inherits it, in any order.
void TestCrlSignatureRememberedPerIssuer(void**) {
  Issued look_alike = MakeCa("Revocation Test CA");  // same DN as g_fx->ca
  X509* leaf = g_fx->leaf_dp1.cert.get();
  const std::string crl = MakeCrl(Crl({}), g_fx->ca);
  for (int local = 0; local < 2; ++local) {
    if (local) {
      Start(Setup({"crl"}, 3600, {crl}));  // crl_files; the DP answers nothing
    } else {
      Start(Setup{{"crl"}});
      g_h->server.bodies[kDp1] = crl;
    }
    for (int round = 0; round < 2; ++round) {
      Expect(CheckUnder(leaf, g_fx->ca.cert.get()), RevocationStatus::kGood, "real issuer");
      Outcome o = CheckUnder(leaf, look_alike.cert.get());
      ExpectNoAnswer(o, "look-alike issuer after the real one");
      Expect(CheckUnder(leaf, g_fx->ca.cert.get()), RevocationStatus::kGood, "real issuer again");
    }
  }
  // A CRL of the look-alike is never taken for the real issuer's.
  Start(Setup({"crl"}, 3600, {MakeCrl(Crl({}), look_alike)}));
  ExpectNoAnswer(CheckUnder(leaf, g_fx->ca.cert.get()), "look-alike's CRL, real issuer");
  Expect(CheckUnder(leaf, look_alike.cert.get()), RevocationStatus::kGood, "look-alike's own");
  ExpectNoAnswer(CheckUnder(leaf, g_fx->ca.cert.get()), "look-alike's CRL, real issuer again");
}

// (c) OCSP answers without nextUpdate are used for ocsp_max_age after
// thisUpdate; with nextUpdate, until then.
void TestOcspMaxAge(void**) {
  X509* leaf = g_fx->leaf_ocsp.cert.get();
  struct Case {
    const char* label;
    std::time_t this_update, next_update;
    long max_age;
    bool usable;
  } cases[] = {
      {"no nextUpdate, 10 minutes old", kNow - 600, 0, 3600, true},
      {"no nextUpdate, 2 days old (replayed)", kNow - 2 * kDay, 0, 3600, false},
      {"no nextUpdate, 61 minutes old", kNow - 3660, 0, 3600, false},
      {"no nextUpdate, 2 days old, ocsp_max_age 3 days", kNow - 2 * kDay, 0, 3 * kDay, true},
      {"nextUpdate tomorrow, 2 days old", kNow - 2 * kDay, kNow + kDay, 3600, true},
      {"nextUpdate passed", kNow - 2 * kDay, kNow - 60, 3600, false},
  };
  for (const Case& k : cases) {
    OcspSpec spec;
    spec.this_update = k.this_update;
    spec.next_update = k.next_update;
    Start(Setup{{"ocsp"}, k.max_age});
    g_h->server.bodies[kOcsp] = MakeOcspResponse(leaf, g_fx->ca, spec);
    Outcome o = Check(leaf, {});
    if (k.usable) {
      Expect(o, RevocationStatus::kGood, k.label);
    } else {
      ExpectNoAnswer(o, k.label);
    }
  }
  // A revoked answer without nextUpdate is honoured within the limit.
  OcspSpec revoked;
  revoked.status = V_OCSP_CERTSTATUS_REVOKED;
  Start(Setup{{"ocsp"}});
  g_h->server.bodies[kOcsp] = MakeOcspResponse(leaf, g_fx->ca, revoked);
  Expect(Check(leaf, {}), RevocationStatus::kRevoked, "revoked, no nextUpdate");
  // A replayed old "good" falls back to the CRL order's next method.
  OcspSpec old_good;
  old_good.this_update = kNow - 2 * kDay;
  Start(Setup{{"ocsp", "crl"}, 3600, {MakeCrl(Crl({leaf}), g_fx->ca)}});
  g_h->server.bodies[kOcsp] = MakeOcspResponse(leaf, g_fx->ca, old_good);
  Expect(Check(leaf, {}), RevocationStatus::kRevoked, "old OCSP good, CRL lists it");
}

// An answer without nextUpdate is cached until thisUpdate + ocsp_max_age,
// in memory and on disk, and not a second longer.
void TestOcspMaxAgeCache(void**) {
  X509* leaf = g_fx->leaf_ocsp.cert.get();
  OcspSpec spec;  // thisUpdate kNow - 600: usable until kNow + 3000
  Start(Setup{{"ocsp"}});
  g_h->server.bodies[kOcsp] = MakeOcspResponse(leaf, g_fx->ca, spec);
  Outcome o = Check(leaf, {});
  Expect(o, RevocationStatus::kGood, "first");
  assert_int_equal(o.fetches, 1);
  o = Check(leaf, {}, kNow + 2000);
  Expect(o, RevocationStatus::kGood, "memory cache");
  assert_int_equal(o.fetches, 0);
  assert_true(o.from_cache);
  Start(Setup{{"ocsp"}}, /*keep_state=*/true);  // a restart
  o = Check(leaf, {}, kNow + 2000);
  Expect(o, RevocationStatus::kGood, "disk cache after a restart");
  assert_int_equal(o.fetches, 0);
  // Past the limit the cache is not used and the responder's answer (still
  // the old one) is refused.
  o = Check(leaf, {}, kNow + 3100);
  ExpectNoAnswer(o, "past ocsp_max_age");
  assert_int_equal(o.fetches, 1);
  ExpectDetail(o, "ocsp_max_age", "past ocsp_max_age");
}

// The milter step's deadline over responders that never answer in time
// (every request would take a minute; revocation_timeout is 5 s). The chain
// leaf -> sub CA -> root has four fetches (OCSP, then CRL, for the leaf and
// for the sub CA): 20 s without a deadline; a 12 s deadline gives the third
// only the 2 s left and starts no fourth. The clock only moves by hand.
void TestDeadlineCutsChain(void**) {
  ManualClock clock(kNow);
  Start(Setup{});
  g_h->server.clock = &clock;
  g_h->server.delay_ms = 60000;
  Outcome o = CheckBoth(Deadline());
  ExpectNoAnswer(o, "no deadline");
  assert_int_equal(o.fetches, 4);
  assert_true(g_h->server.timeouts == std::vector<long>({5000, 5000, 5000, 5000}));
  assert_false(o.deadline);

  Start(Setup{});  // fresh breakers
  g_h->server.clock = &clock;
  g_h->server.delay_ms = 60000;
  const Deadline step = Deadline::After(clock, 12000);
  o = CheckBoth(step);
  Expect(o, RevocationStatus::kUnavailable, "12 s deadline");
  assert_int_equal(o.fetches, 3);
  assert_true(g_h->server.timeouts == std::vector<long>({5000, 5000, 2000}));
  assert_true(o.deadline);
  ExpectDetail(o, "deadline reached", "12 s deadline");
  assert_true(step.expired());
  // Once it has passed, nothing is fetched at all.
  o = CheckBoth(step);
  Expect(o, RevocationStatus::kUnavailable, "after the deadline");
  assert_int_equal(o.fetches, 0);
  assert_true(o.deadline);
  ExpectDetail(o, "deadline reached: CRL http://crl.test/part1.crl not fetched", "after");
}

// A fetch the deadline cut short is not the responder's failure: three of
// them leave its breaker (threshold 3) closed. Cached answers still count
// after the deadline.
void TestDeadlineSparesBreakerAndCache(void**) {
  ManualClock clock(kNow);
  X509* leaf = g_fx->leaf_ocsp.cert.get();
  Start(Setup{{"ocsp"}});
  g_h->server.clock = &clock;
  g_h->server.delay_ms = 60000;
  g_h->server.bodies[kOcsp] = MakeOcspResponse(leaf, g_fx->ca, OcspSpec());
  for (int i = 0; i < 3; ++i) {
    const Deadline step = Deadline::After(clock, 1000);
    ChainRevocation r;
    {
      X509StackPtr chain = Stack({leaf, g_fx->ca.cert.get()});
      r = g_h->checker->Check(chain.get(), nullptr, kNow, step);
    }
    assert_true(r.overall.status == RevocationStatus::kUnavailable);
    assert_true(r.overall.deadline);
  }
  assert_true(g_h->server.timeouts == std::vector<long>({1000, 1000, 1000}));
  g_h->server.delay_ms = 20;  // the responder answers now
  Outcome o = Check(leaf, {});
  Expect(o, RevocationStatus::kGood, "breaker still closed");
  assert_int_equal(o.fetches, 1);
  const Deadline passed = Deadline::After(clock, 0);
  ChainRevocation r;
  {
    X509StackPtr chain = Stack({leaf, g_fx->ca.cert.get()});
    r = g_h->checker->Check(chain.get(), nullptr, kNow, passed);
  }
  assert_true(r.overall.status == RevocationStatus::kGood);
  assert_true(r.overall.from_cache);
  assert_int_equal(g_h->server.fetches, 4);
}

// Mode and type of every entry of dir: "name=mode" sorted, links as "name=link".
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return out;
  while (struct dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (lstat((dir + "/" + name).c_str(), &st) != 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.push_back(name + "=" + (S_ISLNK(st.st_mode) ? "link" : mode));
  }
  std::sort(out.begin(), out.end());
  return out;
}

unsigned DirMode(const std::string& dir) {
  struct stat st;
  return lstat(dir.c_str(), &st) == 0 ? st.st_mode & 07777 : 07777;
}

// The caches hold who mails whom (docs/SECURITY.md): folders 0700, files
// 0600 under umask 022, no temporaries left; a cache file replaced by a link
// is not read (a fetch instead) and is then replaced, its target untouched.
void TestCacheFiles(void**) {
  const mode_t old_umask = umask(022);
  X509* leaf = g_fx->leaf_dp1.cert.get();
  Start(Setup{{"crl"}});
  const std::string crl = MakeCrl(Partition(kDp1, {}), g_fx->ca);
  g_h->server.bodies[kDp1] = crl;
  Outcome o = Check(leaf, {});
  Expect(o, RevocationStatus::kGood, "CRL fetched");
  assert_int_equal(o.fetches, 1);
  const std::string dir = g_h->state_dir + "/crl";
  assert_int_equal(DirMode(dir), 0700);
  std::vector<std::string> e = Entries(dir);
  assert_int_equal(e.size(), 3);
  std::string stem;
  for (const std::string& s : e) {
    if (s.find("=0600") == std::string::npos) fail_msg("not 0600: %s", s.c_str());
    if (s.find(".url=") != std::string::npos) stem = s.substr(0, s.find(".url="));
  }
  assert_false(stem.empty());
  // Control: a restart uses the disk cache.
  Start(Setup{{"crl"}}, true);
  o = Check(leaf, {});
  Expect(o, RevocationStatus::kGood, "disk cache");
  assert_int_equal(o.fetches, 0);
  // The cached CRL replaced by a link to a file holding the same CRL.
  const std::string elsewhere = g_fx->dir + "/elsewhere.crl";
  std::ofstream(elsewhere, std::ios::binary | std::ios::trunc) << crl;
  const std::string cached = dir + "/" + stem + ".crl";
  assert_int_equal(unlink(cached.c_str()), 0);
  assert_int_equal(symlink(elsewhere.c_str(), cached.c_str()), 0);
  Start(Setup{{"crl"}}, true);
  o = Check(leaf, {});
  Expect(o, RevocationStatus::kGood, "link not read, fetched");
  assert_int_equal(o.fetches, 1);
  struct stat st;
  assert_int_equal(lstat(cached.c_str(), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(lstat(elsewhere.c_str(), &st), 0);
  assert_int_equal(st.st_size, static_cast<off_t>(crl.size()));
  assert_int_equal(Entries(dir).size(), 3);

  // OCSP answers likewise.
  X509* oleaf = g_fx->leaf_ocsp.cert.get();
  Start(Setup{{"ocsp"}});
  g_h->server.bodies[kOcsp] = MakeOcspResponse(oleaf, g_fx->ca, OcspSpec());
  o = Check(oleaf, {});
  Expect(o, RevocationStatus::kGood, "OCSP fetched");
  const std::string odir = g_h->state_dir + "/ocsp";
  assert_int_equal(DirMode(odir), 0700);
  e = Entries(odir);
  assert_int_equal(e.size(), 1);
  if (e[0].find(".der=0600") == std::string::npos) fail_msg("OCSP cache: %s", e[0].c_str());
  umask(old_umask);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestOtherPartitionCarried),
      cmocka_unit_test(TestOtherPartitionServed),
      cmocka_unit_test(TestIdpNameWithoutCertDp),
      cmocka_unit_test(TestIdpScopeFlags),
      cmocka_unit_test(TestUnknownCriticalExtensions),
      cmocka_unit_test(TestCarriedCrlNeverAlone),
      cmocka_unit_test(TestCarriedCrlWithDp),
      cmocka_unit_test(TestCrlSignatureRememberedPerIssuer),
      cmocka_unit_test(TestOcspMaxAge),
      cmocka_unit_test(TestOcspMaxAgeCache),
      cmocka_unit_test(TestDeadlineCutsChain),
      cmocka_unit_test(TestDeadlineSparesBreakerAndCache),
      cmocka_unit_test(TestCacheFiles),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
