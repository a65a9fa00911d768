// cli/certdir_command: `smimectl cert add|list|remove|lookup`, the
// administrator's view of the recipient certificate directory.
//
// add FILE [--address ADDR]: stores the first certificate of a PEM file as
//   admin-added for each address it names (or ADDR), and the rest of the
//   file as chain hints (a file that starts with a CA certificate is stored
//   as chain hints only, e.g. for LDAP certificates); list [ADDR] [--expiring DAYS [--now
//   EPOCH]]: every stored row (local and harvested; with --expiring only those that expire
//   within DAYS or have expired, then, without ADDR, the trust anchors and signing identities
//   that do, one line each), fingerprints shortened to what remove accepts; remove ADDR
//   [FINGERPRINT or a unique prefix of at least the listed length]; lookup ADDR [--now EPOCH]: runs
//   the same selection as the engine (all sources, the domain's rules) and shows the certificate it
//   would encrypt to and why the others were not taken.
// Exit: 0 done/found, 3 lookup found nothing usable, 64 usage, 78 config or
// store errors.
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "engine/runtime.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

constexpr int kExitNotFound = 3;

int Fail(const std::string& why, int code = kExitConfig) {
  std::fprintf(stderr, "smimectl: cert: %s\n", why.c_str());
  return code;
}

// A store that cannot be reached or is busy (kIo) is temporary: exit 75.
int Fail(const Status& st) {
  return Fail(st.message(), st.code() == Status::Code::kIo ? kExitTempFail : kExitConfig);
}

std::string Date(std::time_t t) {
  if (t == 0) return "-";
  char buf[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

X509Ptr Parse(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// The engine only encrypts to a certificate whose path reaches a trust
// anchor: say so now rather than when mail to the address is refused. The
// path is built as the engine builds it, from the store's CA certificates
// (this file's included).
void WarnIfNoChain(Runtime& rt, X509* cert, const std::string& file) {
  std::vector<X509Ptr> issuers;
  if (!rt.cert_store->IssuersOf(cert, Deadline(), &issuers).ok()) issuers.clear();
  X509StackPtr hints(sk_X509_new_null());
  for (const X509Ptr& x : issuers) sk_X509_push(hints.get(), x.get());
  ChainResult chain = rt.trust.VerifyChain(cert, hints.get(), std::time(nullptr));
  sk_X509_zero(hints.get());  // borrowed
  DrainOpensslErrors();
  if (!chain.trusted)
    std::fprintf(stderr,
                 "smimectl: cert: warning: %s does not chain to a trust anchor yet (%s); it is "
                 "not used for encryption until its CA is added (cert add CA.pem) or its root "
                 "is in trust_anchors\n",
                 file.c_str(), chain.reason.c_str());
}

int Add(Runtime& rt, const std::vector<std::string>& args) {
  std::string file, address;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--address" && i + 1 < args.size())
      address = args[++i];
    else if (file.empty() && args[i][0] != '-')
      file = args[i];
    else
      return Fail("usage: cert add FILE.pem [--address ADDR]", kExitUsage);
  }
  if (file.empty()) return Fail("usage: cert add FILE.pem [--address ADDR]", kExitUsage);
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string pem = ss.str();
  if (!in && !in.eof()) return Fail("cannot read " + file);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  DrainOpensslErrors();
  if (certs.empty()) return Fail("no PEM certificate in " + file);
  if (address.empty() && X509_check_ca(certs[0].get()) > 0) {
    // A CA chain (e.g. a partner's intermediate): path hints only.
    std::vector<X509*> cas;
    for (const X509Ptr& c : certs) cas.push_back(c.get());
    Status st = rt.cert_store->AddIntermediates(cas);
    if (!st.ok()) return Fail(st);
    std::printf("stored the CA certificates of %s as chain hints (not trust anchors)\n",
                file.c_str());
    return kExitOk;
  }
  std::vector<std::string> addrs =
      address.empty() ? CertificateAddresses(certs[0].get()) : std::vector<std::string>{address};
  if (addrs.empty()) return Fail(file + ": the certificate names no e-mail address");
  std::string usage = EncryptionUsageProblem(certs[0].get());
  if (!usage.empty())
    std::fprintf(stderr, "smimectl: cert: warning: %s is not usable for encryption (%s)\n",
                 file.c_str(), usage.c_str());
  for (const std::string& a : addrs) {
    Status st = rt.cert_store->Add(a, certs[0].get(), file, std::time(nullptr));
    if (!st.ok()) return Fail(st);
    std::printf("added %s: serial %s, %s\n", a.c_str(), SerialHex(certs[0].get()).c_str(),
                SubjectText(certs[0].get()).c_str());
  }
  std::vector<X509*> chain;
  for (size_t i = 1; i < certs.size(); ++i) chain.push_back(certs[i].get());
  Status st = rt.cert_store->AddIntermediates(chain);
  if (!st.ok()) return Fail(st);
  WarnIfNoChain(rt, certs[0].get(), file);
  return kExitOk;
}

int List(Runtime& rt, const std::vector<std::string>& args) {
  std::string address;
  long expiring = -1;  // days; -1: every row
  std::time_t now = std::time(nullptr);
  for (size_t i = 0; i < args.size(); ++i) {
    char* end = nullptr;
    if (args[i] == "--expiring" && i + 1 < args.size()) {
      expiring = std::strtol(args[++i].c_str(), &end, 10);
      if (*end != '\0' || expiring < 0 || expiring > 36500)
        return Fail("--expiring needs a number of days", kExitUsage);
    } else if (args[i] == "--now" && i + 1 < args.size()) {
      now = static_cast<std::time_t>(std::strtoll(args[++i].c_str(), &end, 10));
      if (*end != '\0') return Fail("--now needs seconds since the epoch", kExitUsage);
    } else if (address.empty() && args[i][0] != '-') {
      address = args[i];
    } else {
      return Fail("usage: cert list [ADDR] [--expiring DAYS] [--now EPOCH]", kExitUsage);
    }
  }
  std::vector<CertStore::Row> rows;
  Status st = address.empty() ? rt.cert_store->List(&rows) : rt.cert_store->Lookup(address, &rows);
  if (!st.ok()) return Fail(st);
  if (expiring >= 0) {
    // Expired ones too: they are what needs renewing most.
    const std::time_t limit = now + static_cast<std::time_t>(expiring) * 86400;
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const CertStore::Row& r) {
                                X509Ptr c = Parse(r.der);
                                return c && ToTimeT(X509_get0_notAfter(c.get())) > limit;
                              }),
               rows.end());
  }
  std::printf("%-32s %-9s %-16s %-10s %-10s %-12s %-24s %s\n", "ADDRESS", "TRUST", "SERIAL",
              "EXPIRES", "LAST-SEEN", "FINGERPRINT", "CAPABILITIES", "SEEN-IN");
  for (const CertStore::Row& r : rows) {
    X509Ptr c = Parse(r.der);
    std::string caps;
    for (int nid : r.capabilities) {
      const char* sn = OBJ_nid2sn(nid);
      caps += (caps.empty() ? "" : ",") + std::string(sn ? sn : "?");
    }
    std::printf("%-32s %-9s %-16s %-10s %-10s %-12s %-24s %s\n", r.address.c_str(),
                CertTrustName(r.trust), c ? SerialHex(c.get()).c_str() : "(damaged)",
                c ? Date(ToTimeT(X509_get0_notAfter(c.get()))).c_str() : "-",
                Date(r.last_seen).c_str(), r.fingerprint.substr(0, kFingerprintShown).c_str(),
                caps.empty() ? "-" : caps.c_str(), r.seen_in.c_str());
  }
  // What else expires that mail depends on: trust anchors and signing
  // identities, in words for people (the daemon logs them as expiry lines).
  if (expiring >= 0 && address.empty()) {
    for (const std::string& w : rt.trust.ExpiryWarnings(now, static_cast<int>(expiring)))
      std::printf("%s\n", w.c_str());
    for (const std::string& w : rt.identities.ExpiryWarnings(now, static_cast<int>(expiring)))
      std::printf("%s\n", w.c_str());
  }
  DrainOpensslErrors();
  return kExitOk;
}

int Remove(Runtime& rt, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2)
    return Fail("usage: cert remove ADDRESS [FINGERPRINT]", kExitUsage);
  int removed = 0;
  Status st = rt.cert_store->Remove(args[0], args.size() == 2 ? args[1] : "", &removed);
  if (!st.ok()) return Fail(st);
  std::printf("removed %d certificate(s) of %s\n", removed, args[0].c_str());
  return kExitOk;
}

int Lookup(Runtime& rt, const std::vector<std::string>& args) {
  std::string address;
  std::time_t now = std::time(nullptr);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--now" && i + 1 < args.size())
      now = static_cast<std::time_t>(std::strtoll(args[++i].c_str(), nullptr, 10));
    else if (address.empty())
      address = args[i];
    else
      return Fail("usage: cert lookup ADDRESS [--now EPOCH]", kExitUsage);
  }
  if (address.empty()) return Fail("usage: cert lookup ADDRESS [--now EPOCH]", kExitUsage);
  const DomainRules& rules = rt.RulesFor(DomainOf(address));
  ChoiceRules cr;
  cr.min_trust = rules.min_trust;
  cr.revocation = rules.revocation_mode;
  cr.algorithms = {rules.allow_sha1, rules.min_rsa_bits};
  cr.smimea = rules.smimea;
  RecipientChoice c = rt.directory.Choose(address, cr, rt.trust, rt.revocation.get(), now);
  std::printf("address: %s\nsources: %zu, minimum trust: %s\n", address.c_str(),
              rt.directory.source_count(), CertTrustName(cr.min_trust));
  for (const std::string& u : c.unavailable) std::printf("unavailable: %s\n", u.c_str());
  for (const std::string& r : c.rejected) std::printf("rejected: %s\n", r.c_str());
  if (!c.found) {
    std::printf("certificate: none usable\n");
    return kExitNotFound;
  }
  X509* x = c.chosen.cert.get();
  std::printf("certificate: %s serial %s, %s, valid until %s, trust %s (%s)\n",
              c.chosen.source.c_str(), SerialHex(x).c_str(), SubjectText(x).c_str(),
              Date(ToTimeT(X509_get0_notAfter(x))).c_str(), CertTrustName(c.chosen.trust),
              c.chosen.origin.c_str());
  return kExitOk;
}

}  // namespace

int CertDirectoryCommand(const std::string& config_path, const std::string& sub,
                         const std::vector<std::string>& args) {
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  if (!rt->cert_store && sub != "lookup")
    return Fail("no certificate store (certificate_store " + rt->config.Str("certificate_store") +
                ", state_dir " + rt->config.Str("state_dir") + ", cannot be opened)");
  if (sub == "add") return Add(*rt, args);
  if (sub == "list") return List(*rt, args);
  if (sub == "remove") return Remove(*rt, args);
  if (sub == "lookup") return Lookup(*rt, args);
  return Fail("expected import, add, list, remove or lookup", kExitUsage);
}

}  // namespace smime
