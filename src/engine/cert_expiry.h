// engine/cert_expiry: the certificates of a runtime whose expiry an
// administrator must act on, for the expiry warnings in the log and the
// per-certificate expiry gauges of the metrics.
//
// They are the signing identities (and their separate encryption
// certificates), the trust anchors and the recipient certificates added
// with `smimectl cert add` (harvested ones are replaced by the next signed
// mail from their owner, so nobody has to act on them). Entry points:
// CertExpiries (start-up, reload, daily, every metrics write: reads the
// store's rows the caller listed), ExpiryLogLines (the warnings, in the
// log shape of docs/logging.md, event `expiry`), LogExpiryWarnings and
// LogRuntimeWarnings (the daemon, `smime-milter -n`, `smimectl config
// check`). Never fails: a stored row
// that does not parse is left out (the store's own checks report it).
#ifndef SMIME_ENGINE_CERT_EXPIRY_H_
#define SMIME_ENGINE_CERT_EXPIRY_H_

#include <ctime>
#include <string>
#include <vector>

#include "base/log.h"
#include "certdir/cert_store.h"

namespace smime {

struct Runtime;

// Kinds, as the metrics' kind label and the log's kind field name them.
constexpr const char* kExpiryIdentity = "identity";
constexpr const char* kExpiryIdentityEncryption = "identity_encryption";
constexpr const char* kExpiryAnchor = "trust_anchor";
constexpr const char* kExpiryRecipient = "recipient_certificate";

struct CertExpiry {
  const char* kind = kExpiryIdentity;
  // Identities and recipient certificates: the address (AddressForm,
  // "@domain" for a domain identity); anchors: the subject DN (RFC 2253).
  std::string name;
  std::string fingerprint;  // SHA-256 of the DER, 64 lower-case hex digits
  std::string serial;       // upper-case hex
  // Identities: FILE:LINE of the identities file; recipient certificates:
  // the file they were added from; anchors: "".
  std::string origin;
  std::time_t not_after = 0;
};

// Every identity (and encryption certificate), anchor and, from rows (may
// be null: no store), every admin-added recipient certificate, soonest
// expiry first (ties: kind, then name).
std::vector<CertExpiry> CertExpiries(const Runtime& rt, const std::vector<CertStoreRow>* rows);

// Whole days from now to t, rounded down (negative once expired).
long DaysLeft(std::time_t t, std::time_t now);

// One warning line (without the severity prefix) per certificate that
// expires within days of now or has expired: "expiry: kind=identity,
// name=alice@a.example, ..., detail=\"...\"" (docs/logging.md).
std::vector<std::string> ExpiryLogLines(const std::vector<CertExpiry>& certs, std::time_t now,
                                        int days);

// Logs, as warnings, the expiry lines (ExpiryLogLines) of rt's certificates
// within rt.identity_expiry_warning_days of now, the store's rows listed
// here (a store that cannot be listed: none of its rows).
void LogExpiryWarnings(const Runtime& rt, std::time_t now, LogSink* log);

// At start-up and reload: each of rt.warnings as "config: origin=FILE:LINE,
// detail=\"...\"" (docs/logging.md), then LogExpiryWarnings.
void LogRuntimeWarnings(const Runtime& rt, std::time_t now, LogSink* log);

}  // namespace smime

#endif  // SMIME_ENGINE_CERT_EXPIRY_H_
