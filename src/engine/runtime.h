// engine/runtime: everything loaded from configuration that the engine needs,
// built once and then shared read-only between messages.
//
// Entry point: BuildRuntime(). It loads trust anchors and checks every value
// so that a bad configuration stops start-up (or a reload) with file:line and
// a reason. On failure *out is untouched. A Runtime is immutable after
// construction; the daemon swaps whole runtimes on reload.
#ifndef SMIME_ENGINE_RUNTIME_H_
#define SMIME_ENGINE_RUNTIME_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "certdir/cert_store.h"
#include "certdir/decryption_keys.h"
#include "certdir/identity_store.h"
#include "certdir/recipient_directory.h"
#include "certdir/smimea_source.h"
#include "cms/encrypt.h"
#include "cms/sign.h"
#include "config/config.h"
#include "mime/smime_locator.h"
#include "policy/direction.h"
#include "policy/domain_policy.h"
#include "policy/signing_users.h"
#include "trust/aia_fetch.h"
#include "trust/online_revocation.h"
#include "trust/revocation.h"
#include "trust/trust_store.h"

namespace smime {

class LdapSource;

enum class HpMode : int;  // mime/header_protection.h

enum class SignMode { kNone, kClear, kOpaque, kIfPossible };
enum class UnauthorizedAction { kTempFail, kReject, kUnsigned };
enum class EncryptMode { kNever, kOpportunistic, kRequired };

const char* SignModeName(SignMode m);

// Per-domain rules (parameters allowed in policy files): verification rules
// for a sender domain's signatures, signing rules for our own domains, and
// what a recipient domain asks for.
struct DomainRules {
  bool allow_sha1 = false;
  int min_rsa_bits = 2048;
  bool local_part_case_sensitive = false;
  bool match_sender_header = false;
  RevocationMode revocation_mode = RevocationMode::kHard;
  SignMode sign = SignMode::kNone;
  bool recipient_opaque = false;  // recipient_signing = opaque
  std::string signing_digest = "sha256";
  RsaPadding rsa_padding = RsaPadding::kPkcs1;
  UnauthorizedAction unauthorized = UnauthorizedAction::kTempFail;
  // As a recipient domain:
  EncryptMode encrypt = EncryptMode::kNever;
  bool missing_certificate_reject = true;  // else tempfail
  bool cipher_auto = true;
  ContentCipher cipher = ContentCipher::kAes256Cbc;      // when !cipher_auto
  ContentCipher min_cipher = ContentCipher::kAes128Cbc;  // encryption_min_algorithm
  RsaKeyTransport rsa_transport = RsaKeyTransport::kPkcs1;
  CertTrust min_trust = CertTrust::kHarvested;
  // Inbound decryption (docs/decryption.md):
  bool decrypt = false;                  // decrypt = yes
  bool smimea = false;                   // smimea = yes: DANE SMIMEA lookups
  bool smimea_verify = false;            // smimea_verify = yes: DANE binds signers
  bool decrypt_unauthenticated = false;  // CBC without a passing inner signature too
  HpMode header_protection{};            // kNone; RFC 9788 (docs/header-protection.md)
};

DomainRules RulesFromConfig(const Config& config);

struct Runtime {
  Config config;
  std::string authserv_id;
  TrustStore trust;
  MimeLimits limits;
  std::vector<IpNetwork> internal_hosts;
  std::vector<std::string> originating_daemons;
  bool log_why = false;
  bool internal_error_accept = false;  // internal_error_action = accept
  size_t max_message_size = 0;
  size_t spool_memory_limit = 0;
  // Where bodies beyond spool_memory_limit are spooled (state_dir): the
  // received body (milter) and the new one (engine/outbound).
  std::string spool_dir;
  int max_signers = 4;
  // One deadline per milter step for all its network waits (base/deadline.h).
  long rcpt_deadline_ms = 20000;  // rcpt_deadline: each RCPT
  long eom_deadline_ms = 240000;  // eom_deadline: end of data (Process)
  DomainRules rules;              // the main configuration's (and default.conf's) rules
  std::map<std::string, DomainRules> domain_rules;  // domains with a policy file
  PolicySet policies;

  // The rules for a domain (sender or recipient; any letter case, U- or
  // A-labels): its own policy file, else the nearest parent's, else the
  // defaults.
  const DomainRules& RulesFor(const std::string& domain) const;
  std::unique_ptr<RevocationChecker> revocation;
  // Missing issuers from AIA caIssuers (aia_fetch; never null after
  // BuildRuntime: with aia_fetch = no it answers "off").
  std::unique_ptr<AiaFetcher> aia;

  IdentityStore identities;
  SigningUsers signing_users;
  std::vector<IpNetwork> signing_relays;  // unauthenticated clients that may sign as any From
  int identity_expiry_warning_days = 30;
  std::vector<std::string> warnings;  // logged at start-up and on reload

  // Recipient certificates (state_dir/certificates.db: local and harvested;
  // LDAP) and the sources in certificate_sources order. cert_store is null
  // when it could not be opened and no domain encrypts.
  std::shared_ptr<CertStore> cert_store;
  RecipientDirectory directory;
  const LdapSource* ldap = nullptr;  // the LDAP source directory owns (null: none), for metrics
  // The directory's DANE SMIMEA source (not owned; null when no domain has
  // smimea or smimea_verify = yes), also asked for signers (smimea_verify).
  const SmimeaSource* dane = nullptr;
  bool harvest = false;
  bool any_encryption = false;       // some domain has encrypt != never
  std::string hp_subject = "[...]";  // header_protection_subject

  DecryptionKeys decryption_keys;  // decryption_keys file
  bool any_decryption = false;     // some domain has decrypt = yes
};

Status BuildRuntime(const Config& config, std::unique_ptr<Runtime>* out);

// The revocation settings of config; fails with file:line for a bad value.
Status RevocationOptionsFromConfig(const Config& config, RevocationOptions* ro);

}  // namespace smime

#endif  // SMIME_ENGINE_RUNTIME_H_
