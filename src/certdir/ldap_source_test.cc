// Unit tests for certdir/ldap_source without a directory: RFC 4515 filter
// escaping, decoding of attribute values (DER, PEM, PKCS#7 certs-only as in
// userSMIMECertificate, garbage), LdapSource::Lookup over a fake search
// function (candidates, skipped values, cache with a hand-moved clock:
// positive and negative TTL, failures not cached, LRU bound; the circuit
// breaker; the milter step's deadline: a search gets only what is left of it,
// none starts after it, neither trips the breaker) and LdapOptionsFromConfig's
// file:line errors. The real slapd test is tests/ldap/run-ldap.sh.
#include "certdir/ldap_source.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "config/config.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Fixture {
  Issued ca, alice, alice2, bob;
};
Fixture* g_fx = nullptr;

int Setup(void**) {
  g_fx = new Fixture;
  g_fx->ca = MakeCa("LDAP Test CA");
  g_fx->alice = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->ca);
  g_fx->alice2 = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->ca);
  g_fx->bob = MakeLeaf(SmimeSpec("bob@a.example"), g_fx->ca);
  return 0;
}

int Teardown(void**) {
  delete g_fx;
  return 0;
}

// A search function that counts calls and answers from a script. With a
// clock, each search "takes" delay_ms: it moves the clock by that much, or
// by the search's timeout and fails when the delay is longer.
struct FakeDirectory {
  int calls = 0;
  std::string last_filter;
  long last_timeout_ms = -1;
  bool fail = false;
  LdapSearchResult answer;
  ManualClock* clock = nullptr;
  long delay_ms = 0;
  LdapSearchFn Fn() {
    return [this](const std::string& filter, long timeout_ms, LdapSearchResult* out) {
      ++calls;
      last_filter = filter;
      last_timeout_ms = timeout_ms;
      if (clock) clock->Advance(std::min(delay_ms, timeout_ms));
      if (delay_ms > timeout_ms)
        return Status::Io("ldap: search: no answer within the deadline of " +
                          std::to_string(timeout_ms) + " ms");
      if (fail) return Status::Io("ldap: fake directory down");
      *out = answer;
      return Status::Ok();
    };
  }
};

LdapOptions TestOptions() {
  LdapOptions o;
  o.uris = {"ldap://127.0.0.1:1"};
  o.base = "ou=people,dc=test";
  o.cache_ttl = 3600;
  o.negative_cache_ttl = 300;
  o.breaker_cooldown = 0;  // off unless a test wants it
  return o;
}

LdapEntry Entry(const std::string& dn, std::vector<std::pair<std::string, std::string>> values) {
  LdapEntry e;
  e.dn = dn;
  e.values = std::move(values);
  return e;
}

// Candidate count of one lookup, -1 when it failed.
int CountFound(const LdapSource& src, const std::string& address, bool* cached = nullptr) {
  std::vector<CertCandidate> found;
  LdapLookupInfo info;
  Status st = src.Lookup(address, &found, &info);
  if (cached) *cached = info.cached;
  return st.ok() ? static_cast<int>(found.size()) : -1;
}

void TestEscape(void**) {
  assert_string_equal(EscapeLdapFilterValue("alice@a.example").c_str(), "alice@a.example");
  assert_string_equal(EscapeLdapFilterValue("a*b(c)d\\e").c_str(), "a\\2ab\\28c\\29d\\5ce");
  assert_string_equal(EscapeLdapFilterValue(std::string("x\0y", 3)).c_str(), "x\\00y");
  assert_string_equal(EscapeLdapFilterValue("j\xc3\xbcrg@b.example").c_str(),
                      "j\\c3\\bcrg@b.example");
  assert_string_equal(EscapeLdapFilterValue("tab\there").c_str(), "tab\\09here");
  // The classic injection: must stay one assertion value.
  assert_string_equal(BuildLdapFilter("(mail=%s)", "*)(uid=*").c_str(),
                      "(mail=\\2a\\29\\28uid=\\2a)");
  assert_string_equal(BuildLdapFilter("(|(mail=%s)(mailAlternateAddress=%s))", "a@b").c_str(),
                      "(|(mail=a@b)(mailAlternateAddress=a@b))");
  assert_string_equal(BuildLdapFilter("(mail=%s)", "").c_str(), "(mail=)");
}

void TestDecode(void**) {
  const std::string der = ToDer(g_fx->alice.cert.get());
  std::vector<X509Ptr> certs;
  assert_true(DecodeLdapCertificates(der, &certs).ok());
  assert_int_equal(certs.size(), 1);
  assert_int_equal(X509_cmp(certs[0].get(), g_fx->alice.cert.get()), 0);

  // userSMIMECertificate: certs-only SignedData with the leaf and its CA.
  certs.clear();
  const std::string p7 = CertsOnly({g_fx->alice.cert.get(), g_fx->ca.cert.get()});
  assert_true(DecodeLdapCertificates(p7, &certs).ok());
  assert_int_equal(certs.size(), 1);  // the CA is left out
  assert_int_equal(X509_cmp(certs[0].get(), g_fx->alice.cert.get()), 0);
  certs.clear();
  const std::string p7two = CertsOnly({g_fx->alice.cert.get(), g_fx->alice2.cert.get()});
  assert_true(DecodeLdapCertificates(p7two, &certs).ok());
  assert_int_equal(certs.size(), 2);

  // PEM, two certificates.
  certs.clear();
  const std::string pem = ToPem(g_fx->alice.cert.get()) + ToPem(g_fx->bob.cert.get());
  assert_true(DecodeLdapCertificates(pem, &certs).ok());
  assert_int_equal(certs.size(), 2);

  // Malformed: nothing appended, a reason given.
  certs.clear();
  Status st = DecodeLdapCertificates("garbage, not DER", &certs);
  assert_false(st.ok());
  assert_true(st.message().find("neither") != std::string::npos);
  assert_false(DecodeLdapCertificates("", &certs).ok());
  st = DecodeLdapCertificates(der + "x", &certs);
  assert_false(st.ok());
  assert_true(st.message().find("extra bytes") != std::string::npos);
  assert_false(DecodeLdapCertificates(der.substr(0, der.size() / 2), &certs).ok());
  st = DecodeLdapCertificates(Encrypt("hello", g_fx->alice.cert.get()), &certs);
  assert_false(st.ok());
  assert_true(st.message().find("not SignedData") != std::string::npos);
  assert_false(DecodeLdapCertificates(CertsOnly({g_fx->ca.cert.get()}), &certs).ok());
  assert_false(DecodeLdapCertificates(CertsOnly({}), &certs).ok());
  assert_false(DecodeLdapCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n", &certs).ok());
  assert_int_equal(certs.size(), 0);
}

void TestLookupCandidates(void**) {
  HandClock clock;
  FakeDirectory dir;
  const std::string dn = "uid=alice,ou=people,dc=test";
  dir.answer.entries.push_back(Entry(
      dn, {{"userCertificate;binary", ToDer(g_fx->alice.cert.get())},
           {"userCertificate;binary", "\x30\x03garbage"},
           {"userSMIMECertificate",
            CertsOnly({g_fx->alice.cert.get(), g_fx->alice2.cert.get(), g_fx->ca.cert.get()})}}));
  dir.answer.entries.push_back(Entry("uid=alice2,ou=people,dc=test", {}));  // no certificate
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(TestOptions(), &src, &clock, dir.Fn()).ok());
  assert_string_equal(src->Name(), "ldap");

  std::vector<CertCandidate> found;
  LdapLookupInfo info;
  assert_true(src->Lookup("alice@a.example", &found, &info).ok());
  assert_string_equal(dir.last_filter.c_str(), "(mail=alice@a.example)");
  assert_int_equal(found.size(), 2);  // alice once (deduplicated), alice2
  assert_int_equal(X509_cmp(found[0].cert.get(), g_fx->alice.cert.get()), 0);
  assert_int_equal(X509_cmp(found[1].cert.get(), g_fx->alice2.cert.get()), 0);
  assert_true(found[0].trust == CertTrust::kDirectory);
  assert_string_equal(found[0].source.c_str(), "ldap");
  assert_string_equal(found[0].origin.c_str(), "ldap: uid=alice,ou=people,dc=test");
  assert_int_equal(found[0].seen, kNow);
  assert_false(info.cached);
  assert_int_equal(info.notes.size(), 1);
  assert_string_equal(info.notes[0].substr(0, 63).c_str(),
                      "uid=alice,ou=people,dc=test: userCertificate;binary: value 2 sk");
  assert_int_equal(src->Stats().malformed_values, 1);

  // Injection attempt reaches the directory escaped.
  assert_int_equal(CountFound(*src, "*)(uid=*"), 2);  // the fake answers anything
  assert_string_equal(dir.last_filter.c_str(), "(mail=\\2a\\29\\28uid=\\2a)");
  assert_false(src->Find("", Deadline(), &found).ok());
}

void TestCache(void**) {
  HandClock clock;
  FakeDirectory dir;
  dir.answer.entries.push_back(
      Entry("uid=alice,dc=test", {{"userCertificate;binary", ToDer(g_fx->alice.cert.get())}}));
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(TestOptions(), &src, &clock, dir.Fn()).ok());
  bool cached = false;
  assert_int_equal(CountFound(*src, "alice@a.example", &cached), 1);
  assert_false(cached);
  clock.t += 3599;
  assert_int_equal(CountFound(*src, "Alice@A.Example", &cached), 1);  // case-insensitive key
  assert_true(cached);
  assert_int_equal(dir.calls, 1);
  clock.t += 1;  // TTL over
  assert_int_equal(CountFound(*src, "alice@a.example", &cached), 1);
  assert_false(cached);
  assert_int_equal(dir.calls, 2);

  // Negative answers: cached for negative_cache_ttl.
  dir.answer = LdapSearchResult();
  assert_int_equal(CountFound(*src, "nobody@a.example"), 0);
  clock.t += 299;
  assert_int_equal(CountFound(*src, "nobody@a.example", &cached), 0);
  assert_true(cached);
  assert_int_equal(dir.calls, 3);
  clock.t += 1;
  assert_int_equal(CountFound(*src, "nobody@a.example", &cached), 0);
  assert_false(cached);
  assert_int_equal(dir.calls, 4);

  // Failures are not cached; a cached answer survives the directory going down.
  dir.fail = true;
  assert_int_equal(CountFound(*src, "carol@b.example"), -1);
  assert_int_equal(CountFound(*src, "carol@b.example"), -1);
  assert_int_equal(dir.calls, 6);
  assert_int_equal(CountFound(*src, "alice@a.example", &cached), 1);
  assert_true(cached);
  LdapStats s = src->Stats();
  assert_int_equal(s.searches, 6);
  assert_int_equal(s.cache_hits, 2);
  assert_int_equal(s.negative_hits, 1);
  assert_int_equal(s.failures, 2);
  // Every search (failed ones too), none of the cache answers, is in the
  // latency histogram; its buckets are cumulative.
  assert_int_equal(s.latency_count, 6);
  for (size_t i = 1; i < kLdapLatencyBucketCount; ++i)
    assert_true(s.latency_le[i] >= s.latency_le[i - 1]);
  assert_true(s.latency_le[kLdapLatencyBucketCount - 1] <= 6);
  assert_true(s.latency_sum_seconds >= 0);
}

// The directory is asked for the A-label domain (the mail attribute is an
// IA5String); both spellings of the domain share one cache entry.
void TestIdnDomainQueriedAsALabel(void**) {
  HandClock clock;
  FakeDirectory dir;
  dir.answer.entries.push_back(
      Entry("uid=hans,dc=test", {{"userCertificate;binary", ToDer(g_fx->alice.cert.get())}}));
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(TestOptions(), &src, &clock, dir.Fn()).ok());
  bool cached = false;
  assert_int_equal(CountFound(*src, "Hans@BÜCHER.example.", &cached), 1);
  assert_false(cached);
  assert_string_equal(dir.last_filter.c_str(), "(mail=Hans@xn--bcher-kva.example)");
  assert_int_equal(CountFound(*src, "hans@xn--bcher-kva.example", &cached), 1);
  assert_true(cached);
  assert_int_equal(dir.calls, 1);
}

void TestCacheBounded(void**) {
  HandClock clock;
  FakeDirectory dir;
  LdapOptions o = TestOptions();
  o.cache_size = 2;
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(o, &src, &clock, dir.Fn()).ok());
  CountFound(*src, "a@x");
  CountFound(*src, "b@x");
  CountFound(*src, "a@x");  // hit: a is now the most recently used
  assert_int_equal(dir.calls, 2);
  CountFound(*src, "c@x");  // evicts b
  assert_int_equal(dir.calls, 3);
  bool cached = false;
  CountFound(*src, "a@x", &cached);
  assert_true(cached);
  CountFound(*src, "b@x", &cached);
  assert_false(cached);
  assert_int_equal(dir.calls, 4);

  // The cache class on its own: expired entries go before live ones.
  LdapResultCache cache(2);
  std::vector<LdapResultCache::Cert> certs;
  certs.push_back({X509Ptr(X509_dup(g_fx->bob.cert.get())), "uid=bob", kNow});
  cache.Put("short", {}, kNow + 10, kNow);
  cache.Put("long", certs, kNow + 1000, kNow);
  std::vector<LdapResultCache::Cert> got;
  assert_true(cache.Get("short", kNow + 5, &got));  // short is now most recent
  cache.Put("new", {}, kNow + 1000, kNow + 20);     // short has expired: it goes, long stays
  assert_int_equal(cache.size(), 2);
  assert_true(cache.Get("long", kNow + 20, &got));
  assert_int_equal(got.size(), 1);
  assert_string_equal(got[0].dn.c_str(), "uid=bob");
  assert_false(cache.Get("long", kNow + 1000, &got));  // expired
  LdapResultCache off(0);
  off.Put("k", {}, kNow + 10, kNow);
  assert_false(off.Get("k", kNow, &got));
}

void TestCacheOff(void**) {
  HandClock clock;
  FakeDirectory dir;
  LdapOptions o = TestOptions();
  o.cache_ttl = 0;
  o.negative_cache_ttl = 0;
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(o, &src, &clock, dir.Fn()).ok());
  CountFound(*src, "a@x");
  CountFound(*src, "a@x");
  assert_int_equal(dir.calls, 2);
}

void TestBreaker(void**) {
  HandClock clock;
  FakeDirectory dir;
  dir.fail = true;
  LdapOptions o = TestOptions();
  o.breaker_threshold = 2;
  o.breaker_cooldown = 30;
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(o, &src, &clock, dir.Fn()).ok());
  assert_int_equal(CountFound(*src, "a@x"), -1);
  assert_int_equal(CountFound(*src, "b@x"), -1);
  assert_int_equal(dir.calls, 2);
  std::vector<CertCandidate> found;
  Status st = src->Find("c@x", Deadline(), &found);  // open: not asked
  assert_false(st.ok());
  assert_true(st.message().find("unavailable") != std::string::npos);
  assert_int_equal(dir.calls, 2);
  clock.t += 31;
  dir.fail = false;
  assert_int_equal(CountFound(*src, "c@x"), 0);  // half open: asked, closes again
  assert_int_equal(CountFound(*src, "d@x"), 0);
  assert_int_equal(dir.calls, 4);
  assert_int_equal(src->Stats().breaker_refusals, 1);
  assert_int_equal(src->Stats().breakers_open, 0);
}

// A search that takes 30 ms lands above the 25 ms bucket (a lower bound:
// the search cannot be faster than its sleep).
void TestLatencyHistogram(void**) {
  HandClock clock;
  std::unique_ptr<LdapSource> src;
  auto slow = [](const std::string&, long, LdapSearchResult*) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return Status::Ok();
  };
  assert_true(LdapSource::Create(TestOptions(), &src, &clock, slow).ok());
  assert_int_equal(CountFound(*src, "a@x"), 0);
  const LdapStats s = src->Stats();
  assert_int_equal(s.latency_count, 1);
  assert_int_equal(s.latency_le[0], 0);  // 5 ms
  assert_int_equal(s.latency_le[2], 0);  // 25 ms
  assert_true(s.latency_sum_seconds >= 0.03);
}

// The milter step's deadline (base/deadline.h) over a directory that never
// answers in time: the search gets what is left of the deadline instead of
// its own 5 s; once the deadline has passed nothing is asked; neither
// failure is held against the directory; cached answers still come.
void TestDeadline(void**) {
  ManualClock clock(kNow);
  FakeDirectory dir;
  dir.clock = &clock;
  dir.delay_ms = 60000;
  dir.answer.entries.push_back(
      Entry("uid=alice,dc=test", {{"userCertificate;binary", ToDer(g_fx->alice.cert.get())}}));
  LdapOptions o = TestOptions();
  o.breaker_threshold = 1;  // any failure held against the directory opens it
  o.breaker_cooldown = 30;
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(o, &src, &clock, dir.Fn()).ok());
  assert_int_equal(o.timeout_ms, 5000);

  const Deadline step = Deadline::After(clock, 1500);
  std::vector<CertCandidate> found;
  Status st = src->Lookup("bob@a.example", &found, nullptr, step);
  assert_false(st.ok());
  assert_int_equal(dir.last_timeout_ms, 1500);  // capped by the deadline
  assert_true(step.expired());
  assert_true(st.message().find("ldap: deadline reached: search") == 0);

  st = src->Lookup("carol@a.example", &found, nullptr, step);
  assert_false(st.ok());
  assert_int_equal(dir.calls, 1);  // not asked after the deadline
  assert_string_equal(st.message().c_str(), "ldap: deadline reached: directory not asked");
  assert_int_equal(src->Stats().failures, 2);

  // The breaker stayed closed: without a deadline the directory is asked,
  // with its own timeout.
  dir.delay_ms = 10;
  assert_int_equal(CountFound(*src, "alice@a.example"), 1);
  assert_int_equal(dir.calls, 2);
  assert_int_equal(dir.last_timeout_ms, 5000);
  // A cached answer costs no wait: it comes even after the deadline.
  found.clear();
  assert_true(src->Lookup("alice@a.example", &found, nullptr, step).ok());
  assert_int_equal(found.size(), 1);
  assert_int_equal(dir.calls, 2);
}

std::string TempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ldap_source_test.XXXXXX";
  return mkdtemp(&templ[0]) ? templ : "";
}

// LdapOptionsFromConfig on text; "" when OK, else the error message.
std::string OptionsError(const std::string& text, LdapOptions* o) {
  Config config;
  Status st = config.Parse(text, "test.conf");
  if (!st.ok()) return "parse: " + st.message();
  st = LdapOptionsFromConfig(config, o);
  return st.ok() ? "" : st.message();
}

void TestOptionsFromConfig(void**) {
  LdapOptions o;
  assert_string_equal(OptionsError("", &o).c_str(), "");  // LDAP off
  assert_true(o.uris.empty());
  assert_string_equal(o.filter.c_str(), "(mail=%s)");
  assert_int_equal(o.attributes.size(), 2);
  assert_string_equal(o.attributes[0].c_str(), "userCertificate;binary");
  assert_string_equal(o.attributes[1].c_str(), "userSMIMECertificate");
  assert_int_equal(o.timeout_ms, 5000);
  assert_int_equal(o.cache_ttl, 3600);
  assert_int_equal(o.negative_cache_ttl, 300);

  const std::string base =
      "ldap_uri = ldap://127.0.0.1:3890 ldaps://dir2.test\n"
      "ldap_base = ou=people,dc=test\n";
  assert_string_equal(OptionsError(base + "ldap_timeout = 2\nldap_cache_size = 7\n", &o).c_str(),
                      "");
  assert_int_equal(o.uris.size(), 2);
  assert_string_equal(o.uris[1].c_str(), "ldaps://dir2.test");
  assert_string_equal(o.base.c_str(), "ou=people,dc=test");
  assert_int_equal(o.timeout_ms, 2000);
  assert_int_equal(o.cache_size, 7);
  assert_false(o.starttls);

  assert_string_equal(OptionsError("ldap_uri = http://x\nldap_base = dc=test\n", &o).c_str(),
                      "test.conf:1: ldap_uri: 'http://x' is not an LDAP URI (ldap://HOST[:PORT], "
                      "ldaps://, ldapi://)");
  assert_string_equal(
      OptionsError("ldap_uri = ldap://x\n", &o).c_str(),
      "test.conf:1: ldap_base: set the search base, e.g. ou=people,dc=example,dc=com");
  assert_string_equal(OptionsError(base + "ldap_filter = (mail=alice)\n", &o).c_str(),
                      "test.conf:3: ldap_filter: '(mail=alice)': no %s where the address goes");
  assert_string_equal(OptionsError(base + "ldap_filter = ((mail=%s)\n", &o).c_str(),
                      "test.conf:3: ldap_filter: '((mail=%s)': unbalanced parentheses");
  assert_string_equal(OptionsError(base + "ldap_filter = (mail=%s))\n", &o).c_str(),
                      "test.conf:3: ldap_filter: '(mail=%s))': unbalanced parentheses");
  assert_string_equal(OptionsError(base + "ldap_filter = (mail=%s)(uid=x)\n", &o).c_str(),
                      "test.conf:3: ldap_filter: '(mail=%s)(uid=x)': more than one outer pair of "
                      "parentheses");
  assert_string_equal(OptionsError(base + "ldap_filter = (|(mail=%s)(cn=a\\29b))\n", &o).c_str(),
                      "");
  assert_string_equal(OptionsError(base + "ldap_filter = mail=%s\n", &o).c_str(),
                      "test.conf:3: ldap_filter: 'mail=%s': not in parentheses");
  assert_string_equal(
      OptionsError(base + "ldap_attributes = userCertificate;binary, (x)\n", &o).c_str(),
      "test.conf:3: ldap_attributes: '(x)' is not an attribute name");
  assert_string_equal(OptionsError(base + "ldap_starttls = yes\n", &o).c_str(),
                      "test.conf:3: ldap_starttls: 'ldaps://dir2.test' already uses TLS "
                      "(ldaps://); StartTLS is for ldap://");
  assert_string_equal(OptionsError(base + "ldap_bind_dn = cn=milter,dc=test\n", &o).c_str(),
                      "test.conf:3: ldap_bind_dn: set ldap_bind_password_file too (or neither, "
                      "to bind anonymously)");
  assert_string_equal(OptionsError(base + "ldap_bind_dn = not a dn\n", &o).c_str(),
                      "test.conf:3: ldap_bind_dn: 'not a dn' is not a DN");

  // Password files: must be private, non-empty; Create reads them.
  const std::string dir = TempDir();
  assert_false(dir.empty());
  const std::string pw = dir + "/pw";
  std::ofstream(pw) << "s3cret\nignored\n";
  chmod(pw.c_str(), 0644);
  const std::string bind =
      base + "ldap_bind_dn = cn=milter,dc=test\nldap_bind_password_file = " + pw + "\n";
  std::string e = OptionsError(bind, &o);
  assert_true(e.find("test.conf:4: ldap_bind_password_file: refusing " + pw) == 0);
  chmod(pw.c_str(), 0600);
  assert_string_equal(OptionsError(bind, &o).c_str(), "");
  assert_string_equal(o.bind_dn.c_str(), "cn=milter,dc=test");
  std::unique_ptr<LdapSource> src;
  assert_true(LdapSource::Create(o, &src).ok());
  std::ofstream(pw, std::ios::trunc) << "\n";
  e = OptionsError(bind, &o);
  assert_true(e.find("test.conf:4: ldap_bind_password_file: " + pw + " is empty") == 0);
  assert_false(LdapSource::Create(o, &src).ok());
  unlink(pw.c_str());
  assert_true(OptionsError(bind, &o).find("cannot read " + pw) != std::string::npos);
  assert_string_equal(OptionsError(base + "ldap_bind_password_file = /x\n", &o).c_str(),
                      "test.conf:3: ldap_bind_password_file: set ldap_bind_dn too (the "
                      "password is for that DN)");
  rmdir(dir.c_str());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestEscape),
      cmocka_unit_test(TestDecode),
      cmocka_unit_test(TestLookupCandidates),
      cmocka_unit_test(TestCache),
      cmocka_unit_test(TestCacheBounded),
      cmocka_unit_test(TestCacheOff),
      cmocka_unit_test(TestBreaker),
      cmocka_unit_test(TestLatencyHistogram),
      cmocka_unit_test(TestDeadline),
      cmocka_unit_test(TestOptionsFromConfig),
      cmocka_unit_test(TestIdnDomainQueriedAsALabel),
  };
  return cmocka_run_group_tests(tests, Setup, Teardown);
}
