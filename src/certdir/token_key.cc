// certdir/token_key: PKCS#11 keys through libp11's ENGINE. See token_key.h.
//
// Debian 12 ships no pkcs11-provider for OpenSSL 3, only the ENGINE, whose
// API OpenSSL 3.0 deprecates. The build treats warnings as errors, so this
// one file (and no other) asks OpenSSL not to mark the ENGINE calls
// deprecated. Moving to a provider later only touches this file.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "certdir/token_key.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ui.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <list>
#include <memory>
#include <mutex>
#include <sstream>

#include "base/safe_file.h"
#include "certdir/identity_store.h"
#include "cms/sign.h"

namespace smime {

namespace {

// A structural reference (ENGINE_by_id).
struct EngineFreer {
  void operator()(ENGINE* e) const { ENGINE_free(e); }
};
using EnginePtr = std::unique_ptr<ENGINE, EngineFreer>;
using UiMethodPtr = std::unique_ptr<UI_METHOD, OsslDeleter<UI_METHOD, UI_destroy_method>>;

// A libp11 key and what it takes to find it again. Owned by the engine,
// so that a restart reaches every libp11 key: each must be freed before the
// module is finalised, libp11's data of it goes with the module.
struct RealKey {
  std::string uri;
  std::string pin;         // for logging in again after a restart
  std::string public_der;  // SubjectPublicKeyInfo: a restart must find the same key
  EvpPkeyPtr real;         // null while unusable
  std::string problem;     // why real is null

  ~RealKey() { OPENSSL_cleanse(pin.data(), pin.size()); }
};

// The process's pkcs11 ENGINE with one module. Owned jointly by every
// TokenKey, so the module is finalised only after the last of them is freed.
struct TokenEngine {
  EnginePtr engine;
  bool initialised = false;  // holds a functional reference (ENGINE_init)
  std::string module;
  dev_t module_dev = 0;  // the module file, so that two paths to it are one module
  ino_t module_ino = 0;
  std::mutex op_mu;  // serialises every use: ctrl, load, restart, sign
  // Guarded by op_mu:
  std::list<RealKey> keys;  // every key loaded and not yet freed
  std::chrono::steady_clock::time_point last_retry{};
  bool retried = false;

  ~TokenEngine() {
    keys.clear();                                  // the libp11 keys before the module
    if (initialised) ENGINE_finish(engine.get());  // C_Finalize
  }
};

// Set while this thread holds some TokenEngine's op_mu (LoadTokenKey, and
// the signer around the stand-in's method), so that a key freed on this
// thread meanwhile does not wait for the lock it holds.
thread_local bool t_holds_op_mu = false;
class OpMuHeld {
 public:
  OpMuHeld() : was_(t_holds_op_mu) { t_holds_op_mu = true; }
  ~OpMuHeld() { t_holds_op_mu = was_; }
  OpMuHeld(const OpMuHeld&) = delete;
  OpMuHeld& operator=(const OpMuHeld&) = delete;

 private:
  const bool was_;
};

// One identity's token key, held by its stand-in (ex_data): its entry in the
// engine's list and its share of the engine.
struct TokenKey {
  std::shared_ptr<TokenEngine> engine;  // declared first: destroyed last
  std::list<RealKey>::iterator entry;

  ~TokenKey() {
    if (t_holds_op_mu) {
      engine->keys.erase(entry);
    } else {
      std::lock_guard<std::mutex> lock(engine->op_mu);
      engine->keys.erase(entry);
    }
  }
};

// The engine of the keys alive now, if any. Guarded by RegistryMutex.
std::weak_ptr<TokenEngine>& CurrentEngine() {
  static std::weak_ptr<TokenEngine> current;
  return current;
}
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

// libp11 asks this UI for a PIN it does not have; a daemon has no one to
// ask, so the answer is always no (and the question is noted).
int RefusePinPrompt(UI* ui, UI_STRING*) {
  if (auto* asked = static_cast<bool*>(UI_get0_user_data(ui))) *asked = true;
  return 0;
}

Status ReadPin(const std::string& path, std::string* pin) {
  Status st = ReadSecretLine(path, pin);
  if (!st.ok()) return st;
  if (pin->empty()) return Status::Config("PIN file " + path + " is empty");
  return Status::Ok();
}

// Takes the ENGINE out of OpenSSL's engine list and default tables, so that
// only our reference (TokenEngine::engine) and the functional references we
// hold reach it. Libraries that initialise OpenSSL later register every
// listed ENGINE as the default for everything (libcurl's global init, which
// the AIA fetcher runs after the identities are loaded, calls
// ENGINE_register_all_complete through libssh2). A default ENGINE hands a
// functional reference to every RSA, EC and EVP_PKEY_CTX that is created -
// signatures, file keys, the PKCS#11 module's own software keys - and some
// of those are never returned, so ENGINE_finish in ~TokenEngine would not
// finalise the module: OPENSSL_cleanup would, at exit, after the module's
// own static destructors (a crash).
void KeepOutOfDefaults(ENGINE* e) {
  ENGINE_remove(e);  // our structural reference keeps it alive
  ENGINE_unregister_RSA(e);
  ENGINE_unregister_DSA(e);
  ENGINE_unregister_EC(e);
  ENGINE_unregister_DH(e);
  ENGINE_unregister_RAND(e);
  ENGINE_unregister_ciphers(e);
  ENGINE_unregister_digests(e);
  ENGINE_unregister_pkey_meths(e);
  ENGINE_unregister_pkey_asn1_meths(e);
}

// The engine for module (whose stat is file): the live one, or a new one
// when no key is alive.
Status GetEngine(const std::string& module, const struct stat& file,
                 std::shared_ptr<TokenEngine>* out) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::shared_ptr<TokenEngine> live = CurrentEngine().lock();
  if (live) {
    if (live->module_dev != file.st_dev || live->module_ino != file.st_ino)
      return Status::Config("pkcs11_module " + module + ": token keys from " + live->module +
                            " are in use, and a process can use one PKCS#11 module only");
    *out = std::move(live);
    return Status::Ok();
  }
  DrainOpensslErrors();
  EnginePtr found(ENGINE_by_id("pkcs11"));
  if (!found)
    return Status::Config("the OpenSSL ENGINE \"pkcs11\" is not available (" +
                          DrainOpensslErrors() +
                          "): install libengine-pkcs11-openssl (libp11) for token keys");
  KeepOutOfDefaults(found.get());
  DrainOpensslErrors();
  // libp11 prints its errors to stderr; ours carry them instead.
  ENGINE_ctrl_cmd(found.get(), "QUIET", 0, nullptr, nullptr, 0);
  if (ENGINE_ctrl_cmd_string(found.get(), "MODULE_PATH", module.c_str(), 0) != 1)
    return Status::Config("the pkcs11 ENGINE refused MODULE_PATH " + module + " (" +
                          DrainOpensslErrors() + ")");
  if (ENGINE_init(found.get()) != 1)
    return Status::Config("cannot initialise the pkcs11 ENGINE with module " + module + " (" +
                          DrainOpensslErrors() + ")");
  // ENGINE_init took a structural reference of its own: `found` keeps ours
  // across restarts (ENGINE_finish, ENGINE_init).
  auto fresh = std::make_shared<TokenEngine>();
  fresh->engine = std::move(found);
  fresh->initialised = true;
  fresh->module = module;
  fresh->module_dev = file.st_dev;
  fresh->module_ino = file.st_ino;
  CurrentEngine() = fresh;
  *out = std::move(fresh);
  return Status::Ok();
}

bool Contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

// Turns a failed ENGINE_load_private_key into the administrator's remedy.
Status LoadFailure(const std::string& uri, const std::string& module, const std::string& pin_file,
                   bool pin_asked, const std::string& detail) {
  const std::string tail = " (" + detail + ")";
  if (Contains(detail, "PIN incorrect"))
    return Status::Config("wrong PIN in " + pin_file + " for " + uri + tail);
  if (Contains(detail, "PIN locked"))
    return Status::Config("the PIN of the token of " + uri +
                          " is locked: unlock it with the security officer PIN" + tail);
  if (Contains(detail, "PIN len range") || Contains(detail, "PIN invalid"))
    return Status::Config("the token of " + uri + " rejects the PIN in " + pin_file +
                          " as malformed" + tail);
  if (pin_asked || Contains(detail, "UI_process"))
    return Status::Config("the token of " + uri + " asked for a PIN the milter cannot type" + tail);
  if (Contains(detail, "Unable to load PKCS#11 module"))
    return Status::Config("cannot load PKCS#11 module " + module +
                          ": not a PKCS#11 library for this system?" + tail);
  if (Contains(detail, "object not found"))
    return Status::Config("no private key at " + uri + " on the tokens of " + module +
                          " (check token= and object= or id=; `pkcs11-tool --module " + module +
                          " --login --list-objects` lists them)" + tail);
  return Status::Config("cannot load token key " + uri + tail);
}

// Stand-in keys: RSA and EC keys with the token key's public half and a
// method that forwards the private operation to TokenKey::real. OpenSSL
// treats a key with a method of its own as a legacy key and calls it, as it
// does libp11's keys.

// ex_data of the stand-in RSA or EC_KEY: a heap std::shared_ptr<TokenKey>.
void FreeTokenKeyRef(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<TokenKey>*>(ptr);
}
int DupTokenKeyRef(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from_d, int, long, void*) {
  auto* from = static_cast<std::shared_ptr<TokenKey>*>(*from_d);
  if (from) *from_d = new std::shared_ptr<TokenKey>(*from);
  return 1;
}
int RsaRefIndex() {
  static const int index =
      RSA_get_ex_new_index(0, nullptr, nullptr, DupTokenKeyRef, FreeTokenKeyRef);
  return index;
}
int EcRefIndex() {
  static const int index =
      EC_KEY_get_ex_new_index(0, nullptr, nullptr, DupTokenKeyRef, FreeTokenKeyRef);
  return index;
}

// Finds key->uri on the token again with key->pin; on failure key->real is
// null and key->problem says why. Caller holds op_mu.
void LoadReal(TokenEngine& eng, RealKey* key, bool* pin_asked) {
  key->real.reset();
  key->problem.clear();
  UiMethodPtr no_prompt(UI_create_method("smime-milter: no PIN prompt"));
  if (!no_prompt || UI_method_set_reader(no_prompt.get(), RefusePinPrompt) != 0) {
    key->problem = "cannot create a UI method: " + DrainOpensslErrors();
    return;
  }
  DrainOpensslErrors();
  // libp11 keeps this PIN for the token (it logs in again after a fork);
  // each load sets its own, so no token is ever offered another's PIN.
  if (ENGINE_ctrl_cmd_string(eng.engine.get(), "PIN", key->pin.c_str(), 0) != 1) {
    key->problem = "the pkcs11 ENGINE refused the PIN: " + DrainOpensslErrors();
    return;
  }
  EvpPkeyPtr loaded(
      ENGINE_load_private_key(eng.engine.get(), key->uri.c_str(), no_prompt.get(), pin_asked));
  if (!loaded) {
    key->problem = DrainOpensslErrors();
    if (key->problem.empty()) key->problem = "not found";
    return;
  }
  // libp11 keeps this very EVP_PKEY in its cache, and with it a functional
  // reference to the ENGINE (for its EVP_PKEY_METHODs, which the stand-in
  // does not use): that would keep ENGINE_finish from ever finishing the
  // module, so a restart would find the same stale keys again.
  EVP_PKEY_set1_engine(loaded.get(), nullptr);
  if (!EVP_PKEY_is_a(loaded.get(), "RSA") && !EVP_PKEY_is_a(loaded.get(), "EC")) {
    key->problem = std::string("a ") + EVP_PKEY_get0_type_name(loaded.get()) +
                   " key (token keys must be RSA or EC)";
    return;
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(loaded.get(), &der);
  if (len <= 0) {
    key->problem = "no public key for it on the token (" + DrainOpensslErrors() + ")";
    return;
  }
  std::string pub(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  if (key->public_der.empty()) {
    key->public_der = std::move(pub);
  } else if (pub != key->public_der) {
    key->problem = "the token now holds another key at this URI";
    return;
  }
  key->real = std::move(loaded);
}

// Starts the module afresh and finds every live key again, first (which
// may be null) before the others, so that first's PIN is the one its token
// is logged in with. Caller holds op_mu. False when the module cannot be
// started at all.
bool RestartModule(TokenEngine& eng, RealKey* first, bool* first_pin_asked) {
  for (RealKey& k : eng.keys) k.real.reset();  // every libp11 key before the module
  DrainOpensslErrors();
  if (eng.initialised) ENGINE_finish(eng.engine.get());
  eng.initialised = ENGINE_init(eng.engine.get()) == 1;
  const std::string detail = eng.initialised ? "" : DrainOpensslErrors();
  if (eng.initialised && first) LoadReal(eng, first, first_pin_asked);
  for (RealKey& k : eng.keys) {
    if (&k == first) continue;
    bool asked = false;
    if (eng.initialised)
      LoadReal(eng, &k, &asked);
    else
      k.problem = "cannot start module " + eng.module + " (" + detail + ")";
  }
  if (!eng.initialised && first)
    first->problem = "cannot start module " + eng.module + " (" + detail + ")";
  return eng.initialised;
}

// An OpenSSL error library of our own, so that the caller's error text
// (which keeps only reason strings) says what happened.
int UnusableKeyLib() {
  static const int lib = [] {
    static const std::string text =
        "token key unusable: token away or its PIN no longer accepted; the module is "
        "restarted at most every " +
        std::to_string(kTokenRetrySeconds) + " s until the key is found again";
    static ERR_STRING_DATA reasons[] = {{ERR_PACK(0, 0, 1), text.c_str()}, {0, nullptr}};
    const int l = ERR_get_next_error_library();
    ERR_load_strings(l, reasons);
    return l;
  }();
  return lib;
}

// Takes the error queue (codes only: the callers' text keeps only reasons).
std::vector<unsigned long> TakeErrors() {
  std::vector<unsigned long> out;
  while (unsigned long e = ERR_get_error()) out.push_back(e);
  return out;
}
void PutBackErrors(const std::vector<unsigned long>& errors) {
  for (unsigned long e : errors) ERR_raise(ERR_GET_LIB(e), ERR_GET_REASON(e));
}

// True when libp11's errors say the token, its session, its login or the
// object handles are gone (libp11's words for CKR_SESSION_HANDLE_INVALID,
// CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT and their kin): what a fresh
// start of the module can cure, unlike a mechanism the token lacks.
bool TokenGone(const std::vector<unsigned long>& errors) {
  static const char* const kGone[] = {"handle invalid",     "Session closed",  "Device removed",
                                      "Device error",       "token present",   "not recognized",
                                      "User not logged in", "not initialized", "General Error",
                                      "Device memory",      "Function failed"};
  for (unsigned long e : errors) {
    const char* reason = ERR_reason_error_string(e);
    if (!reason) continue;
    for (const char* g : kGone)
      if (strcasestr(reason, g)) return true;
  }
  return false;
}

// Runs op with key's libp11 key. When that fails because the token went
// away (or the key is unusable since an earlier restart), restarts the
// module, at most once per kTokenRetrySeconds, and runs op once more.
// Caller (the signer) holds op_mu. Returns op's result, or `failed` with
// the reasons on OpenSSL's error queue.
template <class Result, class Op>
Result WithRealKey(TokenKey* token_key, Result failed, Op op) {
  OpMuHeld held;
  TokenEngine& eng = *token_key->engine;
  RealKey* key = &*token_key->entry;
  std::vector<unsigned long> errors;
  if (key->real) {
    Result r = op(key->real.get());
    if (r != failed) return r;
    errors = TakeErrors();
    if (!TokenGone(errors)) {
      PutBackErrors(errors);
      return failed;
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (!eng.retried || now - eng.last_retry >= std::chrono::seconds(kTokenRetrySeconds)) {
    eng.retried = true;
    eng.last_retry = now;
    bool asked = false;
    RestartModule(eng, nullptr, &asked);
    if (key->real) {
      Result r = op(key->real.get());
      DrainOpensslErrors();
      if (r != failed) return r;
    }
  }
  DrainOpensslErrors();
  PutBackErrors(errors);
  ERR_raise(UnusableKeyLib(), 1);
  return failed;
}

TokenKey* RsaTokenKey(const RSA* rsa) {
  auto* ref = static_cast<std::shared_ptr<TokenKey>*>(RSA_get_ex_data(rsa, RsaRefIndex()));
  return ref ? ref->get() : nullptr;
}
TokenKey* EcTokenKey(const EC_KEY* ec) {
  auto* ref = static_cast<std::shared_ptr<TokenKey>*>(EC_KEY_get_ex_data(ec, EcRefIndex()));
  return ref ? ref->get() : nullptr;
}

int ProxyRsaPrivEnc(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  TokenKey* key = RsaTokenKey(rsa);
  if (!key) return -1;
  return WithRealKey(key, -1, [&](EVP_PKEY* real) {
    RSA* r = const_cast<RSA*>(EVP_PKEY_get0_RSA(real));
    if (!r) return -1;
    const int n = RSA_private_encrypt(flen, from, to, r, padding);
    return n > 0 ? n : -1;
  });
}

// Decryption keys (certdir/decryption_keys): the key transport of an
// envelope, PKCS#1 v1.5 or raw for OAEP (OpenSSL removes the OAEP padding
// itself), on the token.
int ProxyRsaPrivDec(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  TokenKey* key = RsaTokenKey(rsa);
  if (!key) return -1;
  return WithRealKey(key, -1, [&](EVP_PKEY* real) {
    RSA* r = const_cast<RSA*>(EVP_PKEY_get0_RSA(real));
    if (!r) return -1;
    const int n = RSA_private_decrypt(flen, from, to, r, padding);
    return n >= 0 ? n : -1;
  });
}

int ProxyEcSign(int type, const unsigned char* dgst, int dlen, unsigned char* sig,
                unsigned int* siglen, const BIGNUM*, const BIGNUM*, EC_KEY* ec) {
  TokenKey* key = EcTokenKey(ec);
  if (!key) return 0;
  return WithRealKey(key, 0, [&](EVP_PKEY* real) {
    EC_KEY* r = const_cast<EC_KEY*>(EVP_PKEY_get0_EC_KEY(real));
    return r && ECDSA_sign(type, dgst, dlen, sig, siglen, r) == 1 ? 1 : 0;
  });
}

ECDSA_SIG* ProxyEcSignSig(const unsigned char* dgst, int dlen, const BIGNUM*, const BIGNUM*,
                          EC_KEY* ec) {
  TokenKey* key = EcTokenKey(ec);
  if (!key) return nullptr;
  return WithRealKey(key, static_cast<ECDSA_SIG*>(nullptr), [&](EVP_PKEY* real) {
    EC_KEY* r = const_cast<EC_KEY*>(EVP_PKEY_get0_EC_KEY(real));
    return r ? ECDSA_do_sign(dgst, dlen, r) : nullptr;
  });
}

// The methods live as long as the process: keys refer to them.
const RSA_METHOD* ProxyRsaMethod() {
  static RSA_METHOD* const method = [] {
    RSA_METHOD* m = RSA_meth_dup(RSA_PKCS1_OpenSSL());
    if (m && (RSA_meth_set1_name(m, "smime-milter token key") != 1 ||
              RSA_meth_set_priv_enc(m, ProxyRsaPrivEnc) != 1 ||
              RSA_meth_set_priv_dec(m, ProxyRsaPrivDec) != 1)) {
      RSA_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}
const EC_KEY_METHOD* ProxyEcMethod() {
  static EC_KEY_METHOD* const method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (m) EC_KEY_METHOD_set_sign(m, ProxyEcSign, nullptr, ProxyEcSignSig);
    return m;
  }();
  return method;
}

// The stand-in for key->real (which must be set), holding key.
Status MakeStandIn(const std::shared_ptr<TokenKey>& key, EvpPkeyPtr* out) {
  EVP_PKEY* const real_key = key->entry->real.get();
  EvpPkeyPtr pkey(EVP_PKEY_new());
  if (!pkey) return Status::Internal("out of memory");
  if (EVP_PKEY_is_a(real_key, "RSA")) {
    const RSA* real = EVP_PKEY_get0_RSA(real_key);
    const BIGNUM *n = nullptr, *e = nullptr;
    if (real) RSA_get0_key(real, &n, &e, nullptr);
    std::unique_ptr<RSA, OsslDeleter<RSA, RSA_free>> rsa(RSA_new());
    if (!n || !e || !rsa || !ProxyRsaMethod()) return Status::Internal("cannot copy the RSA key");
    BIGNUM* n2 = BN_dup(n);
    BIGNUM* e2 = BN_dup(e);
    if (!n2 || !e2 || RSA_set0_key(rsa.get(), n2, e2, nullptr) != 1) {
      BN_free(n2);
      BN_free(e2);
      return Status::Internal("cannot copy the RSA key");
    }
    if (RSA_set_method(rsa.get(), ProxyRsaMethod()) != 1)
      return Status::Internal("cannot set the RSA method");
    auto ref = std::make_unique<std::shared_ptr<TokenKey>>(key);
    if (RsaRefIndex() < 0 || RSA_set_ex_data(rsa.get(), RsaRefIndex(), ref.get()) != 1)
      return Status::Internal("cannot attach the token key");
    ref.release();  // owned by rsa: FreeTokenKeyRef deletes it
    if (EVP_PKEY_assign_RSA(pkey.get(), rsa.get()) != 1)
      return Status::Internal("cannot wrap the RSA key");
    rsa.release();
  } else {
    const EC_KEY* real = EVP_PKEY_get0_EC_KEY(real_key);
    std::unique_ptr<EC_KEY, OsslDeleter<EC_KEY, EC_KEY_free>> ec(EC_KEY_new());
    if (!real || !ec || !ProxyEcMethod() || !EC_KEY_get0_group(real) ||
        EC_KEY_set_group(ec.get(), EC_KEY_get0_group(real)) != 1)
      return Status::Internal("cannot copy the EC key");
    if (!EC_KEY_get0_public_key(real) ||
        EC_KEY_set_public_key(ec.get(), EC_KEY_get0_public_key(real)) != 1)
      return Status::Config(
          "the token holds no public key or certificate with the key's ID, "
          "which EC keys need");
    if (EC_KEY_set_method(ec.get(), ProxyEcMethod()) != 1)
      return Status::Internal("cannot set the EC method");
    auto ref = std::make_unique<std::shared_ptr<TokenKey>>(key);
    if (EcRefIndex() < 0 || EC_KEY_set_ex_data(ec.get(), EcRefIndex(), ref.get()) != 1)
      return Status::Internal("cannot attach the token key");
    ref.release();
    if (EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get()) != 1)
      return Status::Internal("cannot wrap the EC key");
    ec.release();
  }
  *out = std::move(pkey);
  return Status::Ok();
}

// What a TokenLoadPass remembers of a load: a SHA-256 of the module, the
// token part of the URI (every path attribute but object, id and type) and
// the PIN, so that the pass holds no PIN.
std::string TokenAndPin(const std::string& module, const std::string& uri, const std::string& pin) {
  std::string path = uri.substr(7);
  path = path.substr(0, path.find('?'));
  std::vector<std::string> attrs;
  std::stringstream in(path);
  std::string a;
  while (std::getline(in, a, ';')) {
    if (strncasecmp(a.c_str(), "object=", 7) == 0 || strncasecmp(a.c_str(), "id=", 3) == 0 ||
        strncasecmp(a.c_str(), "type=", 5) == 0)
      continue;
    attrs.push_back(a);
  }
  std::sort(attrs.begin(), attrs.end());
  std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Each part with its terminating NUL, so that no two splits collide.
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), module.c_str(), module.size() + 1) == 1;
  for (const std::string& x : attrs)
    ok = ok && EVP_DigestUpdate(ctx.get(), x.c_str(), x.size() + 1) == 1;
  ok = ok && EVP_DigestUpdate(ctx.get(), pin.c_str(), pin.size() + 1) == 1 &&
       EVP_DigestFinal_ex(ctx.get(), md, &len) == 1;
  // Without a digest nothing counts as proven: every key proves its PIN.
  return ok ? std::string(reinterpret_cast<const char*>(md), len) : std::string();
}

}  // namespace

bool IsTokenKeyUri(const std::string& key_field) {
  return strncasecmp(key_field.c_str(), "pkcs11:", 7) == 0;
}

Status LoadTokenKey(const std::string& uri, const std::string& module, const std::string& pin_file,
                    TokenLoadPass* pass, EvpPkeyPtr* key) {
  if (!IsTokenKeyUri(uri)) return Status::Config("'" + uri + "' is not a pkcs11: URI");
  for (const char* attr : {"pin-value", "pin-source"})
    if (strcasestr(uri.c_str(), attr))
      return Status::Config(std::string("keep the PIN out of the URI (") + attr +
                            "): put it in a file only the service user can read and name "
                            "it with pin_file=FILE");
  if (module.empty()) return Status::Config("a token key needs pkcs11_module=FILE");
  if (pin_file.empty())
    return Status::Config("a token key needs pin_file=FILE (the token's user PIN, first line)");
  struct stat st;
  if (stat(module.c_str(), &st) != 0)
    return Status::Config("PKCS#11 module " + module + ": " + std::strerror(errno));
  std::string pin;
  Status s = ReadPin(pin_file, &pin);
  if (!s.ok()) return s;

  std::shared_ptr<TokenEngine> engine;
  s = GetEngine(module, st, &engine);
  if (!s.ok()) {
    OPENSSL_cleanse(pin.data(), pin.size());
    return s;
  }
  const std::string token_and_pin = TokenAndPin(module, uri, pin);
  bool pin_asked = false;
  std::string detail;
  EvpPkeyPtr stand_in;
  {
    std::lock_guard<std::mutex> lock(engine->op_mu);
    OpMuHeld held;
    // libp11 presents a PIN only to a token it is not logged in to: with
    // keys alive, only a fresh start of the module proves this one.
    const bool prove = !engine->keys.empty() && !(pass && pass->Proven(token_and_pin));
    auto entry = engine->keys.emplace(engine->keys.end());
    entry->uri = uri;
    entry->pin = pin;
    if (prove) {
      RestartModule(*engine, &*entry, &pin_asked);
    } else {
      LoadReal(*engine, &*entry, &pin_asked);
    }
    if (!entry->real) {
      detail = entry->problem;
      engine->keys.erase(entry);
    } else {
      auto token_key = std::make_shared<TokenKey>();
      token_key->engine = engine;
      token_key->entry = entry;
      s = MakeStandIn(token_key, &stand_in);
    }
  }
  OPENSSL_cleanse(pin.data(), pin.size());
  if (!detail.empty() || (!stand_in && s.ok()))
    return LoadFailure(uri, module, pin_file, pin_asked, detail);
  if (!s.ok()) return Status::Config("token key " + uri + ": " + s.message());
  if (pass) pass->MarkProven(token_and_pin);
  // SignContent takes the engine's lock around the forwarded signature.
  if (!SerializeSigningWith(stand_in.get(), &engine->op_mu))
    return Status::Internal("cannot attach the signing lock to key " + uri + ": " +
                            DrainOpensslErrors());
  *key = std::move(stand_in);
  return Status::Ok();
}

bool TokenLoadPass::Proven(const std::string& token_and_pin) const {
  if (token_and_pin.empty()) return false;
  return std::find(proven_.begin(), proven_.end(), token_and_pin) != proven_.end();
}

void TokenLoadPass::MarkProven(const std::string& token_and_pin) {
  if (!token_and_pin.empty() && !Proven(token_and_pin)) proven_.push_back(token_and_pin);
}

}  // namespace smime
