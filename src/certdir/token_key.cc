// certdir/token_key: PKCS#11 keys through libp11's ENGINE. See token_key.h.
//
// Debian 12 ships no pkcs11-provider for OpenSSL 3, only the ENGINE, whose
// API OpenSSL 3.0 deprecates. The build treats warnings as errors, so this
// one file (and no other) asks OpenSSL not to mark the ENGINE calls
// deprecated. Moving to a provider later only touches this file.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "certdir/token_key.h"

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/ui.h>
#include <strings.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "base/safe_file.h"
#include "certdir/identity_store.h"
#include "cms/sign.h"

namespace smime {

namespace {

// A functional reference to an ENGINE (ENGINE_init); ENGINE_finish also drops
// the structural reference that comes with it.
struct EngineFinisher {
  void operator()(ENGINE* e) const { ENGINE_finish(e); }
};
using EngineRef = std::unique_ptr<ENGINE, EngineFinisher>;
// A structural reference (ENGINE_by_id).
struct EngineFreer {
  void operator()(ENGINE* e) const { ENGINE_free(e); }
};
using EnginePtr = std::unique_ptr<ENGINE, EngineFreer>;
using UiMethodPtr = std::unique_ptr<UI_METHOD, OsslDeleter<UI_METHOD, UI_destroy_method>>;

// The process's pkcs11 ENGINE, initialised with one module. Owned jointly by
// every key loaded from it (see KeyRefIndex), so the module is finalised only
// after the last of them is freed.
struct TokenEngine {
  EngineRef engine;
  std::string module;
  dev_t module_dev = 0;  // the module file, so that two paths to it are one module
  ino_t module_ino = 0;
  std::mutex op_mu;  // serialises every use: ctrl, load, sign
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

// EVP_PKEY ex_data that holds a key's share of its engine: a heap
// std::shared_ptr<TokenEngine>, deleted when OpenSSL frees the key (after the
// key's own libp11 data), copied when it duplicates the key.
void FreeKeyRef(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<TokenEngine>*>(ptr);
}
int DupKeyRef(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from_d, int, long, void*) {
  auto* from = static_cast<std::shared_ptr<TokenEngine>*>(*from_d);
  if (from) *from_d = new std::shared_ptr<TokenEngine>(*from);
  return 1;
}
int KeyRefIndex() {
  static const int index = EVP_PKEY_get_ex_new_index(0, nullptr, nullptr, DupKeyRef, FreeKeyRef);
  return index;
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
  // libp11 prints its errors to stderr; ours carry them instead.
  ENGINE_ctrl_cmd(found.get(), "QUIET", 0, nullptr, nullptr, 0);
  if (ENGINE_ctrl_cmd_string(found.get(), "MODULE_PATH", module.c_str(), 0) != 1)
    return Status::Config("the pkcs11 ENGINE refused MODULE_PATH " + module + " (" +
                          DrainOpensslErrors() + ")");
  if (ENGINE_init(found.get()) != 1)
    return Status::Config("cannot initialise the pkcs11 ENGINE with module " + module + " (" +
                          DrainOpensslErrors() + ")");
  auto fresh = std::make_shared<TokenEngine>();
  fresh->engine.reset(found.get());  // the functional reference ENGINE_init took
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

}  // namespace

bool IsTokenKeyUri(const std::string& key_field) {
  return strncasecmp(key_field.c_str(), "pkcs11:", 7) == 0;
}

Status LoadTokenKey(const std::string& uri, const std::string& module, const std::string& pin_file,
                    EvpPkeyPtr* key) {
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
  UiMethodPtr no_prompt(UI_create_method("smime-milter: no PIN prompt"));
  if (!no_prompt || UI_method_set_reader(no_prompt.get(), RefusePinPrompt) != 0) {
    OPENSSL_cleanse(pin.data(), pin.size());
    return Status::Internal("cannot create a UI method: " + DrainOpensslErrors());
  }
  EvpPkeyPtr loaded;
  bool pin_asked = false;
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(engine->op_mu);
    DrainOpensslErrors();
    // libp11 keeps this PIN for the token (it logs in again after a fork);
    // each load sets its own, so no token is ever offered another's PIN.
    const bool pin_set = ENGINE_ctrl_cmd_string(engine->engine.get(), "PIN", pin.c_str(), 0) == 1;
    OPENSSL_cleanse(pin.data(), pin.size());
    if (!pin_set)
      return Status::Internal("the pkcs11 ENGINE refused the PIN: " + DrainOpensslErrors());
    loaded.reset(
        ENGINE_load_private_key(engine->engine.get(), uri.c_str(), no_prompt.get(), &pin_asked));
    detail = DrainOpensslErrors();
  }
  if (!loaded) return LoadFailure(uri, module, pin_file, pin_asked, detail);

  // The key keeps its engine; SignContent takes the engine's lock.
  const int index = KeyRefIndex();
  auto share = std::make_unique<std::shared_ptr<TokenEngine>>(engine);
  if (index < 0 || EVP_PKEY_set_ex_data(loaded.get(), index, share.get()) != 1)
    return Status::Internal("cannot attach the token engine to key " + uri + ": " +
                            DrainOpensslErrors());
  share.release();  // now owned by the key: FreeKeyRef deletes it
  if (!SerializeSigningWith(loaded.get(), &engine->op_mu))
    return Status::Internal("cannot attach the signing lock to key " + uri + ": " +
                            DrainOpensslErrors());
  *key = std::move(loaded);
  return Status::Ok();
}

}  // namespace smime
