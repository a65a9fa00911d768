// engine/cert_expiry: see cert_expiry.h.
#include "engine/cert_expiry.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/log.h"
#include "engine/runtime.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

CertExpiry Of(const char* kind, const std::string& name, X509* cert, const std::string& origin) {
  CertExpiry e;
  e.kind = kind;
  e.name = name;
  e.fingerprint = CertFingerprint(cert);
  e.serial = SerialHex(cert);
  e.origin = origin;
  e.not_after = ToTimeT(X509_get0_notAfter(cert));
  return e;
}

std::string IsoTime(std::time_t t) {
  char when[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return when;
}

// What an administrator does about it, and what mail meets once it has
// expired (docs/logging.md, event expiry).
const char* Action(const char* kind) {
  return std::strcmp(kind, kExpiryIdentity) == 0 ||
                 std::strcmp(kind, kExpiryIdentityEncryption) == 0
             ? "renew"
             : "add-successor";
}

const char* Effect(const char* kind) {
  if (std::strcmp(kind, kExpiryIdentity) == 0) return "signing-deferred";
  if (std::strcmp(kind, kExpiryIdentityEncryption) == 0) return "not-named-in-signatures";
  if (std::strcmp(kind, kExpiryAnchor) == 0) return "signatures-through-it-fail";
  return "encryption-to-it-refused";
}

const char* Advice(const char* kind, bool expired) {
  if (std::strcmp(kind, kExpiryIdentity) == 0)
    return expired ? "mail from it is deferred unless sign = if-possible; renew it" : "renew it";
  if (std::strcmp(kind, kExpiryIdentityEncryption) == 0)
    return "once expired, signatures no longer name it; renew it";
  if (std::strcmp(kind, kExpiryAnchor) == 0)
    return expired ? "signatures through it no longer verify; add its successor to trust_anchors"
                   : "add its successor to trust_anchors";
  return expired ? "mail that must be encrypted to it is refused; add its successor with "
                   "smimectl cert add"
                 : "add its successor with smimectl cert add";
}

}  // namespace

std::vector<CertExpiry> CertExpiries(const Runtime& rt, const std::vector<CertStoreRow>* rows) {
  std::vector<CertExpiry> out;
  for (const auto& [address, id] : rt.identities.all()) {
    if (id.cert) out.push_back(Of(kExpiryIdentity, address, id.cert.get(), id.origin));
    if (id.encryption_cert)
      out.push_back(Of(kExpiryIdentityEncryption, address, id.encryption_cert.get(), id.origin));
  }
  for (const TrustStore::Anchor& a : rt.trust.anchors())
    if (a.cert) out.push_back(Of(kExpiryAnchor, a.subject, a.cert.get(), ""));
  if (rows)
    for (const CertStoreRow& r : *rows) {
      if (r.trust != CertTrust::kAdmin) continue;
      const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
      X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(r.der.size())));
      if (!cert) continue;
      out.push_back(Of(kExpiryRecipient, r.address, cert.get(), r.seen_in));
    }
  DrainOpensslErrors();
  std::stable_sort(out.begin(), out.end(), [](const CertExpiry& a, const CertExpiry& b) {
    if (a.not_after != b.not_after) return a.not_after < b.not_after;
    const int k = std::strcmp(a.kind, b.kind);
    return k != 0 ? k < 0 : a.name < b.name;
  });
  return out;
}

long DaysLeft(std::time_t t, std::time_t now) {
  return static_cast<long>(std::floor(static_cast<double>(t - now) / 86400.0));
}

std::vector<std::string> ExpiryLogLines(const std::vector<CertExpiry>& certs, std::time_t now,
                                        int days) {
  std::vector<std::string> out;
  for (const CertExpiry& c : certs) {
    if (c.not_after - now > static_cast<std::time_t>(days) * 86400) continue;
    const bool expired = c.not_after <= now;
    std::string f;
    AppendField(&f, "kind", c.kind);
    AppendField(&f, "name", c.name);
    if (!c.origin.empty()) AppendField(&f, "origin", c.origin);
    AppendField(&f, "serial", c.serial);
    AppendField(&f, "fingerprint", c.fingerprint);
    AppendField(&f, "not_after", IsoTime(c.not_after));
    AppendField(&f, "days", std::to_string(DaysLeft(c.not_after, now)));
    AppendField(&f, "state", expired ? "expired" : "expiring");
    if (expired) AppendField(&f, "effect", Effect(c.kind));
    AppendField(&f, "action", Action(c.kind));
    AppendField(&f, "detail", Advice(c.kind, expired));
    out.push_back("expiry: " + f);
  }
  return out;
}

void LogExpiryWarnings(const Runtime& rt, std::time_t now, LogSink* log) {
  std::vector<CertStoreRow> rows;
  const bool listed = rt.cert_store && rt.cert_store->List(&rows).ok();
  for (const std::string& line : ExpiryLogLines(CertExpiries(rt, listed ? &rows : nullptr), now,
                                                rt.identity_expiry_warning_days))
    log->Write(Severity::kWarning, line);
}

void LogRuntimeWarnings(const Runtime& rt, std::time_t now, LogSink* log) {
  for (const std::string& w : rt.warnings) {
    std::string f;
    AppendOriginAndDetail(&f, w);
    log->Write(Severity::kWarning, "config: " + f);
  }
  LogExpiryWarnings(rt, now, log);
}

}  // namespace smime
