// Unit tests for trust/aia_fetch: the connect-address filter (IPv4, IPv6,
// IPv4 inside IPv6, the allow list), aia_allow_networks parsing, and
// AiaFetcher on real certificates (testing/test_pki) with a scripted
// HttpFetcher: DER and certs-only answers, only real issuers kept, the
// cache, the one-request budget, http only, off and no-network; the
// circuit breaker's bound on remembered URLs.
#include "trust/aia_fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/testing.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

// AddressProblem for a textual address with the given allow list.
std::string Problem(const std::string& ip, const std::vector<std::string>& allow = {}) {
  std::vector<IpNetwork> nets;
  if (!ParseNetworks(allow, &nets).ok()) fail_msg("bad allow list");
  sockaddr_in in{};
  sockaddr_in6 in6{};
  if (inet_pton(AF_INET, ip.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return AddressProblem(reinterpret_cast<sockaddr*>(&in), nets);
  }
  if (inet_pton(AF_INET6, ip.c_str(), &in6.sin6_addr) != 1) fail_msg("bad address %s", ip.c_str());
  in6.sin6_family = AF_INET6;
  return AddressProblem(reinterpret_cast<sockaddr*>(&in6), nets);
}

bool Refused(const std::string& ip, const std::vector<std::string>& allow = {}) {
  return !Problem(ip, allow).empty();
}

void TestIpv4Filter(void**) {
  for (const char* ip :
       {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.1",
        "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.0.8", "198.18.0.1"})
    if (!Refused(ip)) fail_msg("%s accepted", ip);
  for (const char* ip :
       {"8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.1.1",
        "192.169.0.1", "223.255.255.255", "11.0.0.1", "126.255.255.255", "128.0.0.1", "198.20.0.1"})
    if (Refused(ip)) fail_msg("%s refused: %s", ip, Problem(ip).c_str());
  assert_string_equal(Problem("127.0.0.1").c_str(), "127.0.0.1 is loopback");
  assert_string_equal(Problem("169.254.169.254").c_str(), "169.254.169.254 is link-local");
}

void TestIpv6Filter(void**) {
  for (const char* ip : {"::1", "::", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "ff02::1",
                         "ff0e::1", "fec0::1", "2001:0:4136:e378::1", "100::1"})
    if (!Refused(ip)) fail_msg("%s accepted", ip);
  for (const char* ip : {"2606:4700::1111", "2a00:1450:4001::1", "fe00::1", "fb00::1", "2001:1::1"})
    if (Refused(ip)) fail_msg("%s refused: %s", ip, Problem(ip).c_str());
  assert_string_equal(Problem("::1").c_str(), "::1 is loopback");
  assert_string_equal(Problem("fd00::1").c_str(), "fd00::1 is unique-local");
}

void TestEmbeddedIpv4(void**) {
  // IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms reach the IPv4
  // address inside: judged as that address.
  for (const char* ip : {"::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1",
                         "::ffff:169.254.169.254", "::127.0.0.1", "::10.0.0.1", "64:ff9b::7f00:1",
                         "64:ff9b::192.168.0.1", "2002:7f00:1::1", "2002:a00:1::"})
    if (!Refused(ip)) fail_msg("%s accepted", ip);
  for (const char* ip : {"::ffff:8.8.8.8", "64:ff9b::8.8.4.4", "2002:808:808::1", "::8.8.8.8"})
    if (Refused(ip)) fail_msg("%s refused: %s", ip, Problem(ip).c_str());
  assert_string_equal(Problem("::ffff:127.0.0.1").c_str(),
                      "::ffff:127.0.0.1 carries 127.0.0.1 is loopback");
  // A site's local-use NAT64 prefix (RFC 8215): refused whatever it embeds.
  for (const char* ip : {"64:ff9b:1::7f00:1", "64:ff9b:1:ff::a00:1", "64:ff9b:1::808:808"})
    if (!Refused(ip)) fail_msg("%s accepted", ip);
  assert_string_equal(Problem("64:ff9b:1::7f00:1").c_str(), "64:ff9b:1::7f00:1 is local-use NAT64");
}

void TestAllowList(void**) {
  assert_false(Refused("127.0.0.1", {"127.0.0.0/8"}));
  assert_false(Refused("127.9.9.9", {"127.0.0.0/8"}));
  // A mapped address is allowed by its IPv4 network too.
  assert_false(Refused("::ffff:127.0.0.1", {"127.0.0.0/8"}));
  assert_true(Refused("::1", {"127.0.0.0/8"}));
  assert_false(Refused("::1", {"::1"}));
  assert_true(Refused("127.0.0.2", {"127.0.0.1"}));
  assert_false(Refused("10.20.30.40", {"10.20.0.0/16"}));
  assert_true(Refused("10.21.0.1", {"10.20.0.0/16"}));
  assert_false(Refused("fd00:1::5", {"fd00:1::/32"}));
  assert_true(Refused("fd00:2::5", {"fd00:1::/32"}));
  assert_false(Refused("172.17.0.1", {"172.16.0.0/13"}));
  assert_true(Refused("172.24.0.1", {"172.16.0.0/13"}));
}

void TestParseNetworks(void**) {
  std::vector<IpNetwork> nets;
  assert_true(
      ParseNetworks({"127.0.0.0/8", "::1", "fd00::/8", "10.0.0.1/32", "0.0.0.0/0"}, &nets).ok());
  assert_int_equal(nets.size(), 5);
  assert_int_equal(nets[1].prefix, 128);
  assert_int_equal(nets[4].prefix, 0);
  for (const char* bad : {"127.0.0.0/33", "::1/129", "localhost", "10.0.0.0/", "10.0.0.0/x",
                          "10.0.0/8", "1.2.3.4/-1"})
    if (ParseNetworks({bad}, &nets).ok()) fail_msg("'%s' accepted", bad);
  assert_int_equal(nets.size(), 5);  // unchanged on failure
}

// Answers every request with a fixed body or error; counts them and runs
// the connect check on a fixed address like CurlFetcher would.
class ScriptedFetcher : public HttpFetcher {
 public:
  std::string body;
  Status error = Status::Ok();
  std::string connect_to;  // "" = no check run
  int calls = 0;
  std::string last_url;
  bool had_check = false;
  Status Fetch(const HttpRequest& req, std::string* out) override {
    ++calls;
    last_url = req.url;
    had_check = static_cast<bool>(req.connect_check);
    if (!connect_to.empty() && req.connect_check) {
      sockaddr_in in{};
      in.sin_family = AF_INET;
      inet_pton(AF_INET, connect_to.c_str(), &in.sin_addr);
      std::string why = req.connect_check(reinterpret_cast<sockaddr*>(&in));
      if (!why.empty()) return Status::Io(why);
    }
    if (!error.ok()) return error;
    *out = body;
    return Status::Ok();
  }
};

struct Pki {
  Issued root, inter, other;
  Issued leaf;        // under inter, caIssuers http://ca.test/inter.der
  Issued leaf2;       // under inter, caIssuers http://ca.test/inter.p7c
  Issued https_leaf;  // under inter, caIssuers https://... and ldap://...
  Issued bare;        // under inter, no AIA
};
Pki* g = nullptr;

Issued LeafWith(const std::string& addr, std::vector<std::string> urls) {
  CertSpec s = SmimeSpec(addr);
  s.ca_issuers_urls = std::move(urls);
  return MakeLeaf(s, g->inter);
}

int SetUp(void**) {
  g = new Pki;
  g->root = MakeCa("AIA Root");
  g->inter = MakeSubCa("AIA Inter", g->root);
  g->other = MakeSubCa("AIA Other", g->root);
  g->leaf = LeafWith("a@a.example", {"http://ca.test/inter.der"});
  g->leaf2 = LeafWith("b@a.example", {"http://ca.test/inter.p7c"});
  g->https_leaf = LeafWith("c@a.example", {"https://ca.test/inter.der", "ldap://ca.test/x"});
  g->bare = LeafWith("d@a.example", {});
  return 0;
}

int TearDown(void**) {
  delete g;
  return 0;
}

struct Rig {
  ScriptedFetcher* f;
  std::unique_ptr<AiaFetcher> aia;
};

Rig MakeRig(AiaOptions o = AiaOptions()) {
  auto f = std::make_unique<ScriptedFetcher>();
  Rig r{f.get(), nullptr};
  r.aia = std::make_unique<AiaFetcher>(o, std::move(f));
  return r;
}

void TestFetchDerThenCache(void**) {
  Rig r = MakeRig();
  r.f->body = ToDer(g->inter.cert.get());
  int budget = 1;
  AiaResult a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "fetched");
  assert_int_equal(a.issuers.size(), 1);
  assert_int_equal(X509_cmp(a.issuers[0].get(), g->inter.cert.get()), 0);
  assert_int_equal(budget, 0);
  assert_true(r.f->had_check);
  assert_string_equal(r.f->last_url.c_str(), "http://ca.test/inter.der");
  // The next message: from the cache, no request, budget untouched.
  budget = 1;
  a = r.aia->IssuersOf(g->leaf.cert.get(), kNow + 60, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "cached");
  assert_int_equal(a.issuers.size(), 1);
  assert_int_equal(r.f->calls, 1);
  assert_int_equal(budget, 1);
  // After kCacheSeconds the entry is gone and the URL is asked again.
  a = r.aia->IssuersOf(g->leaf.cert.get(), kNow + AiaFetcher::kCacheSeconds + 1, Deadline(),
                       &budget);
  assert_string_equal(a.outcome.c_str(), "fetched");
  assert_int_equal(r.f->calls, 2);
}

void TestCertsOnlyBundleKeepsOnlyIssuer(void**) {
  Rig r = MakeRig();
  r.f->body = CertsOnly({g->other.cert.get(), g->root.cert.get(), g->inter.cert.get()});
  int budget = 1;
  AiaResult a = r.aia->IssuersOf(g->leaf2.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "fetched");
  assert_int_equal(a.issuers.size(), 1);
  assert_int_equal(X509_cmp(a.issuers[0].get(), g->inter.cert.get()), 0);
}

void TestNoIssuerInAnswer(void**) {
  Rig r = MakeRig();
  r.f->body = ToDer(g->other.cert.get());  // a CA, but not leaf's issuer
  int budget = 1;
  AiaResult a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "no-issuer");
  assert_true(a.issuers.empty());
  r.f->body = "<html>not a certificate</html>";
  budget = 1;
  a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "no-issuer");
  assert_non_null(strstr(a.detail.c_str(), "not a DER certificate"));
  // Neither was cached.
  r.f->body = ToDer(g->inter.cert.get());
  budget = 1;
  a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "fetched");
}

void TestOneRequestPerMessage(void**) {
  Rig r = MakeRig();
  r.f->body = ToDer(g->inter.cert.get());
  int budget = 1;
  r.f->error = Status::Io("HTTP 404");
  AiaResult a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "failed");
  a = r.aia->IssuersOf(g->leaf2.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "budget");
  assert_int_equal(r.f->calls, 1);
}

void TestOnlyHttp(void**) {
  Rig r = MakeRig();
  r.f->body = ToDer(g->inter.cert.get());
  int budget = 1;
  AiaResult a = r.aia->IssuersOf(g->https_leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "refused");
  assert_int_equal(r.f->calls, 0);
  assert_int_equal(budget, 1);
  a = r.aia->IssuersOf(g->bare.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "");
}

void TestOffAndNoNetwork(void**) {
  AiaOptions o;
  o.enabled = false;
  Rig r = MakeRig(o);
  r.f->body = ToDer(g->inter.cert.get());
  int budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(), "off");
  o.enabled = true;
  o.network = false;
  Rig n = MakeRig(o);
  n.f->body = ToDer(g->inter.cert.get());
  assert_string_equal(
      n.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(),
      "no-network");
  assert_int_equal(r.f->calls + n.f->calls, 0);
}

void TestConnectCheckRefuses(void**) {
  Rig r = MakeRig();
  r.f->body = ToDer(g->inter.cert.get());
  r.f->connect_to = "127.0.0.1";
  int budget = 1;
  AiaResult a = r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "refused");
  assert_non_null(strstr(a.detail.c_str(), "127.0.0.1 is loopback"));
  AiaOptions o;
  assert_true(ParseNetworks({"127.0.0.0/8"}, &o.allow).ok());
  Rig ok = MakeRig(o);
  ok.f->body = ToDer(g->inter.cert.get());
  ok.f->connect_to = "127.0.0.1";
  budget = 1;
  a = ok.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget);
  assert_string_equal(a.outcome.c_str(), "fetched");
}

void TestTooLargeAndBreaker(void**) {
  AiaOptions o;
  o.breaker_threshold = 2;
  Rig r = MakeRig(o);
  r.f->error = Status::Io("response larger than 65536 bytes");
  for (int i = 0; i < 2; ++i) {
    int budget = 1;
    assert_string_equal(
        r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(),
        "too-large");
  }
  int budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(),
      "breaker-open");
  assert_int_equal(r.f->calls, 2);
}

// Stats(): each request once in fetches and, without an issuer, once under
// its outcome; cache hits and breaker refusals ask nothing; the breaker's
// state by the clock given.
void TestStats(void**) {
  AiaOptions o;
  o.breaker_threshold = 2;
  o.breaker_cooldown = 60;
  Rig r = MakeRig(o);
  AiaStats s = r.aia->Stats(kNow);
  assert_int_equal(s.fetches + s.failed + s.cache_hits + s.breaker_opens, 0);
  int budget = 1;
  r.f->body = ToDer(g->inter.cert.get());
  assert_string_equal(
      r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(), "fetched");
  for (int i = 0; i < 2; ++i) {
    budget = 1;
    assert_string_equal(
        r.aia->IssuersOf(g->leaf.cert.get(), kNow, Deadline(), &budget).outcome.c_str(), "cached");
  }
  r.f->body = ToDer(g->other.cert.get());
  budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf2.cert.get(), kNow, Deadline(), &budget).outcome.c_str(),
      "no-issuer");
  r.f->connect_to = "10.0.0.1";
  budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf2.cert.get(), kNow, Deadline(), &budget).outcome.c_str(), "refused");
  r.f->connect_to.clear();
  r.f->error = Status::Io("response larger than 65536 bytes");
  budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf2.cert.get(), kNow, Deadline(), &budget).outcome.c_str(),
      "too-large");
  // The refusal and the too-large answer were two failures of that URL: open.
  budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(g->leaf2.cert.get(), kNow + 1, Deadline(), &budget).outcome.c_str(),
      "breaker-open");
  r.f->error = Status::Io("HTTP 500");
  // Another URL fails once: counted, its breaker still closed.
  Issued third = LeafWith("e@a.example", {"http://ca.test/third.der"});
  budget = 1;
  assert_string_equal(
      r.aia->IssuersOf(third.cert.get(), kNow + 1, Deadline(), &budget).outcome.c_str(), "failed");
  s = r.aia->Stats(kNow + 1);
  assert_int_equal(s.fetches, 5);
  assert_int_equal(r.f->calls, 5);
  assert_int_equal(s.cache_hits, 2);
  assert_int_equal(s.no_issuer, 1);
  assert_int_equal(s.refused, 1);
  assert_int_equal(s.too_large, 1);
  assert_int_equal(s.failed, 1);
  assert_int_equal(s.deadline, 0);
  assert_int_equal(s.breaker_refusals, 1);
  assert_int_equal(s.breaker_opens, 1);
  assert_int_equal(s.breakers_open, 1);
  assert_int_equal(s.breakers_half_open, 0);
  // After the cooldown the open breaker lets the next request probe.
  s = r.aia->Stats(kNow + 61);
  assert_int_equal(s.breakers_open, 0);
  assert_int_equal(s.breakers_half_open, 1);
}

// Sender-chosen URLs cannot grow the breaker without bound; open
// breakers survive the trimming while others are forgotten first.
void TestBreakerBounded(void**) {
  CircuitBreaker b(2, 60);
  b.Failure("http://keep/", kNow);
  b.Failure("http://keep/", kNow);
  for (size_t i = 0; i + 1 < CircuitBreaker::kMaxUrls; ++i)
    b.Failure("http://x" + std::to_string(i) + "/", kNow);
  b.Failure("http://new/", kNow);
  assert_false(b.Allow("http://keep/", kNow + 1));  // still open
  CircuitBreaker all_open(1, 60);
  for (size_t i = 0; i < CircuitBreaker::kMaxUrls; ++i)
    all_open.Failure("http://x" + std::to_string(i) + "/", kNow);
  assert_false(all_open.Allow("http://x0/", kNow + 1));
  all_open.Failure("http://one-more/", kNow);
  assert_true(all_open.Allow("http://x0/", kNow + 1));  // forgotten: the map was full
  assert_false(all_open.Allow("http://one-more/", kNow + 1));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestIpv4Filter),
      cmocka_unit_test(TestIpv6Filter),
      cmocka_unit_test(TestEmbeddedIpv4),
      cmocka_unit_test(TestAllowList),
      cmocka_unit_test(TestParseNetworks),
      cmocka_unit_test(TestFetchDerThenCache),
      cmocka_unit_test(TestCertsOnlyBundleKeepsOnlyIssuer),
      cmocka_unit_test(TestNoIssuerInAnswer),
      cmocka_unit_test(TestOneRequestPerMessage),
      cmocka_unit_test(TestOnlyHttp),
      cmocka_unit_test(TestOffAndNoNetwork),
      cmocka_unit_test(TestConnectCheckRefuses),
      cmocka_unit_test(TestTooLargeAndBreaker),
      cmocka_unit_test(TestBreakerBounded),
      cmocka_unit_test(TestStats),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
