// certdir/decryption_keys: our users' decryption keys, by recipient address.
//
// The file (parameter decryption_keys) has the line format of the signing
// identities file (certdir/identity_store.h), read by the same code
// (LoadKeyLine):
//
//   ADDRESS|@DOMAIN  CERTIFICATE-FILE  KEY-FILE  [passphrase_file=FILE]
//   ADDRESS|@DOMAIN  CERTIFICATE-FILE  pkcs11:URI  pkcs11_module=FILE pin_file=FILE
//
// Unlike identities, an address may have several lines: a user's earlier
// certificates keep opening old mail. An @DOMAIN line is a domain key (one
// certificate that senders use for every address of the domain).
//
// Entry points: DecryptionKeys::Load (start-up and reload) and For (per
// message, never fails). Load is strict, with file:line and a reason: the
// key, passphrase and PIN file checks of the identities file; a certificate
// without the address it is listed for, unfit for S/MIME encryption (RSA
// without keyEncipherment, EC without keyAgreement, extendedKeyUsage without
// emailProtection) or with an RSA key under 2048 bits; the same certificate
// listed twice for one address; and a probe that encrypts a few bytes to
// the certificate and decrypts them with the key (a token key that cannot
// decrypt - EC keys on tokens, see certdir/token_key.h - stops start-up
// here, not on the first message). Expiry is no load error: old mail
// encrypted to an expired certificate still opens.
#ifndef SMIME_CERTDIR_DECRYPTION_KEYS_H_
#define SMIME_CERTDIR_DECRYPTION_KEYS_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "certdir/identity_store.h"

namespace smime {

class DecryptionKeys {
 public:
  // Reads path. A missing file is an error only when required (the
  // parameter was set explicitly); otherwise there are no keys.
  static Status Load(const std::string& path, bool required, DecryptionKeys* out);

  // Adds a key loaded elsewhere (tests); fails when that certificate is
  // already listed for the address.
  Status Add(Identity key);

  // The keys for a recipient address: its own lines in file order, then its
  // domain's (@domain) lines. Addresses compare in AddressForm.
  std::vector<const Identity*> For(const std::string& address) const;

  size_t size() const;

 private:
  std::map<std::string, std::vector<Identity>> by_address_;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_DECRYPTION_KEYS_H_
