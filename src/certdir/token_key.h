// certdir/token_key: signing and decryption keys that stay on a PKCS#11
// token (HSM, smart card, SoftHSM2), named by an RFC 7512 URI such as
// "pkcs11:token=mail;object=alice" (percent-encode spaces: the identities
// file splits on white space).
//
// Entry point: LoadTokenKey(), called by IdentityStore::Load for KEY-FILE
// fields that start with "pkcs11:". The key is reached through libp11's
// OpenSSL ENGINE "pkcs11" (Debian: libengine-pkcs11-openssl), loaded at run
// time; the token's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so) is
// that ENGINE's MODULE_PATH. Only one module at a time: a key naming another
// module while keys from the first are alive is refused.
//
// The key handed out is a stand-in: an OpenSSL key with the token key's
// public half whose private operation is forwarded to the libp11 key behind
// it: RSA signatures and RSA decryption (key transport of envelopes,
// certdir/decryption_keys), EC signatures; ECDH is not forwarded, so an EC
// token key cannot decrypt (its decryption-key load probe fails). The process's one ENGINE owns
// every libp11 key, so it can start the module afresh (C_Finalize, C_Initialize, log in again, find
// each key again) without the identity stores noticing. It does so:
//  - when a load must prove a PIN: libp11 logs in to a token once and then
//    skips the login (and the PIN) for every later load, so a reload with a
//    wrong PIN would succeed while the next start-up fails. The first key of
//    each token and PIN in a TokenLoadPass (one IdentityStore::Load) restarts
//    the module when keys are already alive, so its PIN is really presented;
//  - when a signature fails with an error that says the token went away
//    (removed, device error, session or object handle invalid, user not
//    logged in), or the key is unusable since an earlier restart: at most
//    once per signature and once per kTokenRetrySeconds, then the signature
//    is tried once more. While the token is away every signature fails (the
//    caller's tempfail path). Other failures (a mechanism the token lacks)
//    are returned as they are.
// The ENGINE is kept out of OpenSSL's engine list and default tables (other
// libraries' OpenSSL set-up would otherwise make it the default for every
// key), so the last key freed finalises the module, before the process exits.
// After a restart every live key logs in with its own PIN again (kept in
// memory, cleansed when the key is freed); a key whose token or PIN fails
// stays unusable until a later retry succeeds.
//
// Threading: libp11 and PKCS#11 modules differ in what they allow
// concurrently, so every operation on the ENGINE is serialised: loads and
// restarts here, and signatures in SignContent (cms/sign.h), which holds the
// lock that LoadTokenKey attaches to the key (SerializeSigningWith). Callers
// need do nothing.
//
// Failure modes (Status::Config, one line with the remedy): the ENGINE is
// not installed; the module is missing or not a PKCS#11 library; no or an
// unsafe PIN file (a link, group- or world-accessible, another account's:
// see ReadSecretFile in base/safe_file.h); a PIN in the URI (pin-value,
// pin-source: use the PIN file); wrong or locked PIN (naming the PIN file);
// no private key at the URI; a key type other than RSA or EC. The token
// never prompts for a PIN.
#ifndef SMIME_CERTDIR_TOKEN_KEY_H_
#define SMIME_CERTDIR_TOKEN_KEY_H_

#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

// True for a KEY-FILE field that names a token key ("pkcs11:...").
bool IsTokenKeyUri(const std::string& key_field);

// Seconds between two restarts of the module after failed signatures.
constexpr int kTokenRetrySeconds = 5;

// The tokens and PINs proven during one load of the identities: each is
// presented to its token once per pass, not once per key. Holds digests,
// never a PIN. Not thread-safe.
class TokenLoadPass {
 public:
  // token_and_pin: LoadTokenKey's digest of module, token and PIN.
  bool Proven(const std::string& token_and_pin) const;
  void MarkProven(const std::string& token_and_pin);

 private:
  std::vector<std::string> proven_;
};

// Loads the private key at uri from the token behind the PKCS#11 module,
// logging in with the PIN in pin_file (first line; required), proven as
// described above (pass may be null: then always proven). On success *key
// is usable for SignContent from any thread; on failure it is untouched.
Status LoadTokenKey(const std::string& uri, const std::string& module, const std::string& pin_file,
                    TokenLoadPass* pass, EvpPkeyPtr* key);

}  // namespace smime

#endif  // SMIME_CERTDIR_TOKEN_KEY_H_
