// tests/ldap/ldap_lookup: test driver of run-ldap.sh.
//
//   ldap_lookup CONFIG ITEM...
//
// Loads CONFIG (smime-milter.conf syntax), builds an LdapSource with
// LdapOptionsFromConfig and, for each ITEM in turn, looks up an address and
// prints the outcome, or, for an ITEM "@wait:PATH", prints "waiting PATH"
// and blocks until PATH exists (at most 60 s), so the caller can change the
// directory between two lookups of the same source (cache tests). An ITEM
// "@parallel:N" makes N threads look up the next address 10 times each at
// once (one shared source, as the milter does) and prints
//   parallel N ADDRESS: ok=K errors=E certificates=C
// Output otherwise:
//   lookup ADDRESS: ok N [cached] [truncated] ms=ELAPSED
//     cert serial=HEX subject=RFC2253 trust=directory source=ldap origin=ldap: DN
//     note TEXT
//   lookup ADDRESS: error MESSAGE ms=ELAPSED
//   stats searches=N cache_hits=N negative_hits=N failures=N malformed=N
// Exit: 0 every lookup OK, 1 some lookup failed, 2 usage, 78 configuration.
#include <openssl/bn.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/ossl.h"
#include "certdir/ldap_source.h"
#include "config/config.h"

namespace {

using smime::BioPtr;

std::string Serial(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (!bn) return "?";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "?";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string Subject(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

const char* TrustName(smime::CertTrust t) {
  switch (t) {
    case smime::CertTrust::kHarvested: return "harvested";
    case smime::CertTrust::kDirectory: return "directory";
    case smime::CertTrust::kAdmin: return "admin";
    case smime::CertTrust::kDane: return "dane";
  }
  return "?";
}

bool WaitFor(const std::string& path) {
  for (int i = 0; i < 600; ++i) {
    if (access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG ADDRESS|@wait:PATH...\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);  // as libmilter does: a closed connection is an error, not a death
  smime::Config config;
  smime::Status st = config.Load(argv[1]);
  smime::LdapOptions options;
  if (st.ok()) st = smime::LdapOptionsFromConfig(config, &options);
  std::unique_ptr<smime::LdapSource> source;
  if (st.ok()) st = smime::LdapSource::Create(options, &source);
  if (!st.ok()) {
    std::printf("config error: %s\n", st.message().c_str());
    return 78;
  }
  int rc = 0;
  int parallel = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string item = argv[i];
    if (item.compare(0, 10, "@parallel:") == 0) {
      parallel = std::atoi(item.c_str() + 10);
      continue;
    }
    if (parallel > 0) {
      std::atomic<int> good{0}, errors{0}, certs{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < parallel; ++t)
        threads.emplace_back([&] {
          for (int n = 0; n < 10; ++n) {
            std::vector<smime::CertCandidate> found;
            if (source->Find(item, smime::Deadline(), &found).ok()) {
              ++good;
              certs += static_cast<int>(found.size());
            } else {
              ++errors;
            }
          }
        });
      for (std::thread& t : threads) t.join();
      std::printf("parallel %d %s: ok=%d errors=%d certificates=%d\n", parallel, item.c_str(),
                  good.load(), errors.load(), certs.load());
      if (errors.load() > 0) rc = 1;
      parallel = 0;
      continue;
    }
    if (item.compare(0, 6, "@wait:") == 0) {
      std::printf("waiting %s\n", item.c_str() + 6);
      std::fflush(stdout);
      if (!WaitFor(item.substr(6))) {
        std::printf("error: %s never appeared\n", item.c_str() + 6);
        return 2;
      }
      continue;
    }
    std::vector<smime::CertCandidate> found;
    smime::LdapLookupInfo info;
    smime::Stopwatch watch;
    st = source->Lookup(item, &found, &info);
    const long ms = watch.ElapsedMs();
    if (!st.ok()) {
      std::printf("lookup %s: error %s ms=%ld\n", item.c_str(), st.message().c_str(), ms);
      rc = 1;
    } else {
      std::printf("lookup %s: ok %zu%s%s ms=%ld\n", item.c_str(), found.size(),
                  info.cached ? " cached" : "", info.truncated ? " truncated" : "", ms);
    }
    for (const smime::CertCandidate& c : found)
      std::printf("  cert serial=%s subject=%s trust=%s source=%s origin=%s\n",
                  Serial(c.cert.get()).c_str(), Subject(c.cert.get()).c_str(), TrustName(c.trust),
                  c.source.c_str(), c.origin.c_str());
    for (const std::string& n : info.notes) std::printf("  note %s\n", n.c_str());
    std::fflush(stdout);
  }
  const smime::LdapStats s = source->Stats();
  std::printf(
      "stats searches=%llu cache_hits=%llu negative_hits=%llu failures=%llu malformed=%llu\n",
      static_cast<unsigned long long>(s.searches), static_cast<unsigned long long>(s.cache_hits),
      static_cast<unsigned long long>(s.negative_hits), static_cast<unsigned long long>(s.failures),
      static_cast<unsigned long long>(s.malformed_values));
  return rc;
}
