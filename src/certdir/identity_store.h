// certdir/identity_store: our own signing identities, by sender address.
//
// The identities file (parameter signing_identities) has one line per
// identity:
//
//   ADDRESS|@DOMAIN  CERTIFICATE-FILE  KEY-FILE  [chain=FILE] [passphrase_file=FILE]
//                    [encryption_cert=FILE]
//   ADDRESS|@DOMAIN  CERTIFICATE-FILE  pkcs11:URI  pkcs11_module=FILE pin_file=FILE [chain=FILE]
//
// encryption_cert=FILE names the user's separate encryption certificate (a
// different key, e.g. keyEncipherment only): signatures carry it and name it
// in SMIMEEncryptionKeyPreference and Microsoft's twin instead of the
// signing certificate, so replies are encrypted to it. It must name the
// identity's address (a domain identity: one address its signing
// certificate names), be fit for S/MIME encryption (key type, keyUsage,
// EKU) and have an RSA key of 2048 bits or more; further certificates in
// the file (not self-signed) are carried as its chain.
//
// ADDRESS and DOMAIN may be written with U-labels or A-labels (bücher.example
// or xn--bcher-kva.example): both are stored in the A-label form, so one
// identity listed twice in the two forms is a duplicate.
//
// The certificate file holds the signer certificate first and, optionally,
// its chain; a self-signed root there is not sent with signatures (RFC 8550
// 2.3: the chain stops below the trust anchor). A KEY-FILE starting with "pkcs11:" is an RFC 7512
// URI of a key on a PKCS#11 token, reached through the named module with the user PIN in pin_file
// (see certdir/token_key.h); all other checks are the same. Entry points: IdentityStore::Load
// (start-up and reload) and Find (per message, never fails). Load is strict: a key, passphrase or
// PIN file that fails ReadSecretFile (base/safe_file.h: a symbolic link, group- or
// world-accessible, not owned by root or the service user), a key
// encrypted without a passphrase, a token key without its module or PIN
// file, with a wrong PIN or not on the token, a key that does not match its
// certificate, or cannot sign (e.g. Ed25519 in CMS before OpenSSL 3.2); a
// certificate without the address it is listed for, or unfit for S/MIME
// signing - each stops start-up with file:line and a reason. Expiry is not
// a load error (one expiring identity must not stop a reload); the engine
// refuses to sign with an expired identity and ExpiryWarnings() reports the
// ones about to expire.
#ifndef SMIME_CERTDIR_IDENTITY_STORE_H_
#define SMIME_CERTDIR_IDENTITY_STORE_H_

#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"
#include "certdir/cert_source.h"
#include "certdir/token_key.h"
#include "cms/sign.h"

namespace smime {

struct Identity {
  // mime/rcpt_address AddressForm: "alice@example.com", "@example.com" for
  // a domain, "alice@xn--bcher-kva.example" for alice@bücher.example
  std::string address;
  std::string origin;  // file:line
  X509Ptr cert;
  std::vector<X509Ptr> chain;  // intermediates, leaf excluded
  // encryption_cert=FILE: named in the key preference attributes and
  // carried (its intermediates are in chain); null = the signing cert's
  // own usage decides (cms/sign.h).
  X509Ptr encryption_cert;
  EvpPkeyPtr key;  // from a file or a token; SignContent serialises token keys itself
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  bool domain_identity = false;
  // What every signature with this identity shares, made on first use
  // (cms/sign.h SignMemo); dies with the identity (a reload starts afresh).
  std::shared_ptr<SignMemo> sign_memo = std::make_shared<SignMemo>();
};

// One line of a key file in the format above (the signing identities and
// certdir/decryption_keys share it): address, certificate (and chain), key
// from a file or a token, proven to belong to the certificate. The checks
// that depend on the key's use (signing or decryption) are the caller's.
// encryption_cert_file non-null (signing identities): the encryption_cert=
// option is accepted and its file stored there; null: the option is unknown.
Status LoadKeyLine(const std::vector<std::string>& fields, const std::string& origin,
                   TokenLoadPass* pass, Identity* id, std::string* encryption_cert_file = nullptr);

// "" when id is a domain line or its certificate names id.address, else
// "does not name ADDRESS (it names: ...)".
std::string CertificateLacksAddress(const Identity& id);

class IdentityStore {
 public:
  // Reads path. A missing file is an error only when required (the
  // parameter was set explicitly); otherwise the store is empty. Warnings
  // (domain identities) are appended to *warnings. now is used for the
  // signing probe's signingTime only.
  static Status Load(const std::string& path, bool required, std::time_t now, IdentityStore* out,
                     std::vector<std::string>* warnings);

  // Adds an identity that was loaded elsewhere (tests, tokens), its
  // address put into AddressForm; fails when that address is already
  // present.
  Status Add(Identity id);

  // The identity for a sender address: its own entry, else its domain's
  // (@domain); nullptr when neither exists. Addresses compare in
  // AddressForm (ASCII case-insensitive, domains as A-labels).
  const Identity* Find(const std::string& address) const;

  // One line per identity that expires within days of now (or has expired).
  std::vector<std::string> ExpiryWarnings(std::time_t now, int days) const;

  size_t size() const { return by_address_.size(); }
  const std::map<std::string, Identity>& all() const { return by_address_; }

  // The earliest not_after of all identities; 0 when there is none.
  std::time_t EarliestNotAfter() const {
    std::time_t t = 0;
    for (const auto& [address, id] : by_address_)
      if (t == 0 || id.not_after < t) t = id.not_after;
    return t;
  }

 private:
  std::map<std::string, Identity> by_address_;
};

// The separate encryption certificates of our own identities
// (encryption_cert=, mailbox identities only) as a recipient certificate
// source "identity" of trust level admin: mail to our own users, such as a
// copy to the sender, can be encrypted to them. A snapshot of ids taken at
// construction (the certificates are shared, not copied); the recipient
// directory judges them like any other candidate. Thread-safe.
class IdentityEncryptionCerts final : public CertSource {
 public:
  explicit IdentityEncryptionCerts(const IdentityStore& ids);
  const char* Name() const override { return "identity"; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override;
  // A snapshot: never changes (a reload builds a new directory).
  bool ChangeCount(uint64_t* out) const override {
    *out = 0;
    return true;
  }
  size_t size() const { return by_address_.size(); }

 private:
  struct Entry {
    std::shared_ptr<X509> cert;
    std::vector<std::shared_ptr<X509>> chain;
    std::string origin;
  };
  std::map<std::string, Entry> by_address_;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_IDENTITY_STORE_H_
