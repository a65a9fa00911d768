// certdir/recipient_directory: choose the certificate to encrypt to.
//
// Entry point: RecipientDirectory::Choose(). It asks the configured sources
// in order (local store, harvested certificates, LDAP, DANE SMIMEA when the
// domain has smimea = yes; see cert_source.h)
// with the address's domain in IDNA2008 A-label form (mime/rcpt_address
// WithDomainForm) and keeps only candidates that name the address (domains
// compared in that form, trust/cert_info SameMailbox), are valid now, chain to
// a trust anchor, allow encryption (key type, keyUsage, EKU), meet the
// algorithm rules along their verified path (trust/path_algorithms.h: the
// same rules as signers), are not revoked and come from a source trusted
// enough (DANE-EE certificates: no chain and no name check, the validated
// record binds them; DANE hash records confirm candidates of other sources
// and DANE-TA records may stand in for a trust anchor, docs/dane.md); of those it takes the
// strongest (highest security level of the leaf key, EVP_PKEY_get_security_bits), the newest
// (latest notBefore) among equals. Every rejected candidate is listed with its reason for `smimectl
// cert lookup` and the log. A source that cannot answer (LDAP down) is reported separately, so the
// engine can defer rather than treat the recipient as having no certificate. The milter step's
// Deadline bounds every source and revocation check; a choice it cut short
// says so (RecipientChoice::deadline). Thread-safe.
#ifndef SMIME_CERTDIR_RECIPIENT_DIRECTORY_H_
#define SMIME_CERTDIR_RECIPIENT_DIRECTORY_H_

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "certdir/cert_source.h"
#include "certdir/cert_store.h"
#include "trust/path_algorithms.h"
#include "trust/revocation.h"
#include "trust/trust_store.h"

namespace smime {

struct RecipientChoice {
  bool found = false;
  CertCandidate chosen;                  // when found
  std::vector<std::string> rejected;     // "ldap serial 1A: certificate has expired", ...
  std::vector<std::string> unavailable;  // "ldap: timeout after 5 s", ...
  bool deadline = false;                 // the step's deadline caused an unavailable one
  // For ChooseAgain: the verified path of chosen (leaf first), the rules,
  // the directory and every source's ChangeCount before the lookup
  // (reusable only when every source could tell).
  X509StackPtr path;
  bool reusable = false;
  uint64_t directory_id = 0;
  std::vector<uint64_t> counts;
  std::string address;
  int min_trust = 0, revocation = 0, min_rsa_bits = 0;
  bool allow_sha1 = false;
  bool smimea = false;
};

struct ChoiceRules {
  CertTrust min_trust = CertTrust::kHarvested;
  RevocationMode revocation = RevocationMode::kHard;
  AlgorithmRules algorithms;  // allow_sha1, min_rsa_bits of the recipient domain
  bool smimea = false;        // ask opt-in sources (DANE SMIMEA) for this domain
};

class RecipientDirectory {
 public:
  void AddSource(std::unique_ptr<CertSource> source) { sources_.push_back(std::move(source)); }
  // Stored CA certificates (cert add, harvesting) as path hints for
  // candidates that come without a chain (LDAP).
  void SetChainHints(std::shared_ptr<const CertStore> store) { hints_ = std::move(store); }
  size_t source_count() const { return sources_.size(); }

  // revocation may be null when no domain checks revocation. deadline: the
  // milter step's (none by default: CLI lookups).
  RecipientChoice Choose(const std::string& address, const ChoiceRules& rules,
                         const TrustStore& trust, RevocationChecker* revocation, std::time_t now,
                         const Deadline& deadline = Deadline()) const;

  // The same answer as Choose, from an earlier found choice of this
  // directory for the same address and rules when it still holds (no
  // store read): every source's ChangeCount is unchanged (so a certificate
  // removed since, by any process, is never used), every certificate of its
  // verified path is valid at now, and revocation (when the rules ask) does
  // not say revoked (nor unknown, for hard). Else Choose; *reused says which.
  RecipientChoice ChooseAgain(const RecipientChoice& earlier, const std::string& address,
                              const ChoiceRules& rules, const TrustStore& trust,
                              RevocationChecker* revocation, std::time_t now,
                              const Deadline& deadline, bool* reused) const;

  RecipientDirectory();
  RecipientDirectory(RecipientDirectory&&) = default;
  RecipientDirectory& operator=(RecipientDirectory&& other) = default;

 private:
  // Of the sources Choose asks under smimea; false: one cannot tell (LDAP,
  // DANE SMIMEA, PostgreSQL), so the choice is made again.
  bool ChangeCounts(bool smimea, std::vector<uint64_t>* out) const;
  uint64_t id_;  // distinguishes directories (a reload builds a new one)
  std::vector<std::unique_ptr<CertSource>> sources_;
  std::shared_ptr<const CertStore> hints_;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_RECIPIENT_DIRECTORY_H_
