// certdir/token_key: signing keys that stay on a PKCS#11 token (HSM, smart
// card, SoftHSM2), named by an RFC 7512 URI such as
// "pkcs11:token=mail;object=alice" (percent-encode spaces: the identities
// file splits on white space).
//
// Entry point: LoadTokenKey(), called by IdentityStore::Load for KEY-FILE
// fields that start with "pkcs11:". The key is reached through libp11's
// OpenSSL ENGINE "pkcs11" (Debian: libengine-pkcs11-openssl), loaded at run
// time; the token's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so) is
// that ENGINE's MODULE_PATH. The process has one such ENGINE, shared by every
// key loaded from it: each key keeps it (and the module) initialised until
// the key itself is freed, so an old identity store stays usable while a
// reload builds the next one. Only one module at a time: a key naming
// another module while keys from the first are alive is refused.
//
// Threading: libp11 and PKCS#11 modules differ in what they allow
// concurrently, so every operation on the ENGINE is serialised: loads here,
// and signatures in SignContent (cms/sign.h), which holds the lock that
// LoadTokenKey attaches to the key (SerializeSigningWith). Callers need do
// nothing.
//
// Failure modes (Status::Config, one line with the remedy): the ENGINE is
// not installed; the module is missing or not a PKCS#11 library; no or an
// unsafe PIN file (a link, group- or world-accessible, another account's:
// see ReadSecretFile in base/safe_file.h); a PIN in the URI (pin-value,
// pin-source: use the PIN file); wrong or locked PIN; no private key at the
// URI. The token never prompts for a PIN.
#ifndef SMIME_CERTDIR_TOKEN_KEY_H_
#define SMIME_CERTDIR_TOKEN_KEY_H_

#include <string>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

// True for a KEY-FILE field that names a token key ("pkcs11:...").
bool IsTokenKeyUri(const std::string& key_field);

// Loads the private key at uri from the token behind the PKCS#11 module,
// logging in with the PIN in pin_file (first line; required). On success
// *key is usable for SignContent from any thread; on failure it is untouched.
Status LoadTokenKey(const std::string& uri, const std::string& module, const std::string& pin_file,
                    EvpPkeyPtr* key);

}  // namespace smime

#endif  // SMIME_CERTDIR_TOKEN_KEY_H_
