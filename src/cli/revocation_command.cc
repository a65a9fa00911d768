// cli/revocation_command: `smimectl revocation check CERT.pem` and
// `smimectl crl fetch`, on the same revocation code the engine uses.
//
// revocation check: CERT.pem holds the certificate first, then optional
// intermediates. The chain is built to the configured trust anchors first;
// only a chain that verifies is checked (as in the engine). One line per
// certificate; exit 0 all good, 2 revoked, 3 unknown/unavailable/no source
// or chain not trusted. crl fetch: refreshes the CRL cache (for a timer);
// exit 0, or 75 when a fetch failed.
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>

#include "base/ossl.h"
#include "cli/commands.h"
#include "engine/runtime.h"
#include "trust/online_revocation.h"

namespace smime {

namespace {

constexpr int kExitRevoked = 2;
constexpr int kExitUnknown = 3;

int Fatal(const std::string& msg, int code) {
  std::fprintf(stderr, "smimectl: %s\n", msg.c_str());
  return code;
}

// Parses "--now EPOCH" out of args; the rest stays.
bool TakeNow(std::vector<std::string>* args, std::time_t* now) {
  *now = std::time(nullptr);
  for (size_t i = 0; i < args->size(); ++i) {
    if ((*args)[i] != "--now") continue;
    if (i + 1 >= args->size() ||
        (*args)[i + 1].find_first_not_of("0123456789") != std::string::npos)
      return false;
    *now = static_cast<std::time_t>(std::strtoll((*args)[i + 1].c_str(), nullptr, 10));
    args->erase(args->begin() + static_cast<long>(i), args->begin() + static_cast<long>(i) + 2);
    return true;
  }
  return true;
}

int MakeChecker(const Runtime& rt, std::unique_ptr<OnlineRevocationChecker>* out) {
  RevocationOptions ro;
  Status st = RevocationOptionsFromConfig(rt.config, &ro);
  if (st.ok()) st = OnlineRevocationChecker::Create(ro, std::make_unique<CurlFetcher>(), out);
  if (!st.ok()) return Fatal("fatal: " + st.message(), kExitConfig);
  return kExitOk;
}

}  // namespace

int RevocationCommand(const std::string& config_path, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::time_t now;
  if (!TakeNow(&args, &now)) return Fatal("--now needs seconds since the epoch", kExitUsage);
  if (args.size() != 2 || args[0] != "check")
    return Fatal("usage: smimectl revocation check [--now EPOCH] CERT.pem", kExitUsage);
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  std::unique_ptr<OnlineRevocationChecker> checker;
  if (int rc = MakeChecker(*rt, &checker); rc != kExitOk) return rc;

  BioPtr bio(BIO_new_file(args[1].c_str(), "r"));
  if (!bio) return Fatal(args[1] + ": cannot open", kExitUsage);
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return Fatal(args[1] + ": no PEM certificate", kExitUsage);
  X509StackPtr extra(sk_X509_new_null());
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    sk_X509_push(extra.get(), c);
  DrainOpensslErrors();

  ChainResult chain = rt->trust.VerifyChain(leaf.get(), extra.get(), now);
  if (!chain.trusted) {
    std::printf("chain: not trusted (%s); revocation not checked\n", chain.reason.c_str());
    return kExitUnknown;
  }
  ChainRevocation cr = checker->Check(chain.chain.get(), nullptr, now, Deadline());
  for (size_t i = 0; i < cr.certs.size(); ++i) {
    const RevocationResult& r = cr.certs[i].result;
    std::printf("depth=%zu subject=\"%s\" status=%s source=%s (%s)%s%s\n", i,
                cr.certs[i].subject.c_str(), RevocationStatusName(r.status),
                r.source.empty() ? "none" : r.source.c_str(), r.from_cache ? "cache" : "live",
                r.detail.empty() ? "" : ": ", r.detail.c_str());
  }
  int anchor = sk_X509_num(chain.chain.get()) - 1;
  std::printf("depth=%d trust anchor, not checked\n", anchor);
  switch (cr.overall.status) {
    case RevocationStatus::kGood: return kExitOk;
    case RevocationStatus::kRevoked: return kExitRevoked;
    default: return kExitUnknown;
  }
}

int CrlCommand(const std::string& config_path, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::time_t now;
  if (!TakeNow(&args, &now) || args.size() != 1 || args[0] != "fetch")
    return Fatal("usage: smimectl crl fetch [--now EPOCH]", kExitUsage);
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  std::unique_ptr<OnlineRevocationChecker> checker;
  if (int rc = MakeChecker(*rt, &checker); rc != kExitOk) return rc;
  std::vector<std::string> report;
  Status st = checker->RefreshCachedCrls(now, &report);
  for (const std::string& line : report) std::printf("%s\n", line.c_str());
  if (!st.ok()) return Fatal("crl fetch: " + st.message(), kExitTempFail);
  return kExitOk;
}

}  // namespace smime
