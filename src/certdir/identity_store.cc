// certdir/identity_store: see identity_store.h.
#include "certdir/identity_store.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/safe_file.h"
#include "base/text.h"
#include "certdir/token_key.h"
#include "cms/sign.h"
#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

Status ReadCertificates(const std::string& path, std::vector<X509Ptr>* out) {
  std::string pem;
  if (!ReadWholeFile(path, &pem)) return Status::Io("cannot read certificate file " + path);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out->emplace_back(x);
  DrainOpensslErrors();  // the end of the file reads as an error
  if (out->empty()) return Status::InvalidInput("no PEM certificate in " + path);
  return Status::Ok();
}

int PassphraseCallback(char* buf, int size, int, void* userdata) {
  const std::string* pass = static_cast<const std::string*>(userdata);
  if (!pass || pass->empty() || static_cast<int>(pass->size()) > size) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

Status ReadPassphrase(const std::string& path, std::string* pass) {
  Status st = ReadSecretLine(path, pass);
  if (!st.ok()) return st;
  if (pass->empty()) return Status::Config("passphrase file " + path + " is empty");
  return Status::Ok();
}

// Wipes the key text and passphrase on every way out of ReadKey.
struct WipeOnExit {
  std::string* a;
  std::string* b;
  ~WipeOnExit() {
    OPENSSL_cleanse(a->data(), a->size());
    OPENSSL_cleanse(b->data(), b->size());
  }
};

Status ReadKey(const std::string& path, const std::string& pass_file, EvpPkeyPtr* key) {
  std::string pem, pass;
  WipeOnExit wipe{&pem, &pass};
  Status read = ReadSecretFile(path, &pem);
  if (!read.ok()) return read;
  const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
  if (encrypted && pass_file.empty())
    return Status::Config("key file " + path + " is encrypted: add passphrase_file=FILE");
  if (!pass_file.empty()) {
    Status st = ReadPassphrase(pass_file, &pass);
    if (!st.ok()) return st;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  key->reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback, &pass));
  std::string detail = DrainOpensslErrors();
  if (!*key) {
    if (encrypted)
      return Status::Config("cannot decrypt key file " + path + ": wrong passphrase in " +
                            pass_file + " (" + detail + ")");
    return Status::Config("no PEM private key in " + path + " (" + detail + ")");
  }
  return Status::Ok();
}

// Signs a few bytes: proves that the key matches, is usable and that this
// OpenSSL can produce CMS with it, so the first real message cannot fail.
Status ProbeSign(const Identity& id, std::time_t now) {
  if (EVP_PKEY_is_a(id.key.get(), "ED25519") && OpenSSL_version_num() < 0x30200000L)
    return Status::Config(std::string("Ed25519 keys cannot sign CMS with ") +
                          OpenSSL_version(OPENSSL_VERSION) + " (needs OpenSSL 3.2 or later)");
  SignParams p;
  p.cert = id.cert.get();
  p.key = id.key.get();
  p.encryption_cert = id.encryption_cert.get();
  p.signing_time = now;
  std::string der;
  Status st = SignContent("probe\r\n", p, &der);
  if (!st.ok()) return Status::Config("test signature failed: " + st.message());
  return Status::Ok();
}

// encryption_cert=FILE: the first certificate of file, for the identity's
// address (a domain identity: an address of its signing certificate,
// signing_addrs), fit for encryption; the others (not self-signed, not yet
// carried) join the chain.
Status LoadEncryptionCert(const std::string& file, const std::vector<std::string>& signing_addrs,
                          Identity* id) {
  std::vector<X509Ptr> certs;
  Status st = ReadCertificates(file, &certs);
  if (!st.ok()) return st;
  X509* enc = certs[0].get();
  const std::string usage = EncryptionUsageProblem(enc);
  if (!usage.empty())
    return Status::Config("encryption certificate " + file +
                          " is not fit for S/MIME encryption: " + usage);
  int bits = 0;
  const std::string type = KeyType(enc, &bits);
  if (type == "rsaEncryption" && bits < 2048)
    return Status::Config("encryption certificate " + file + " has a " + std::to_string(bits) +
                          "-bit RSA key; senders (this filter included) refuse less than 2048");
  bool found = false;
  std::string list;
  for (const std::string& a : CertificateAddresses(enc)) {
    list += (list.empty() ? "" : ", ") + a;
    if (!id->domain_identity && SameMailbox(a, id->address, false)) found = true;
    for (const std::string& s : signing_addrs)
      if (id->domain_identity && SameMailbox(a, s, false)) found = true;
  }
  if (!found)
    return Status::Config(
        "encryption certificate " + file + " does not name " +
        (id->domain_identity ? std::string("an address of the signing certificate") : id->address) +
        " (it names: " + (list.empty() ? "no address" : list) + ")");
  for (size_t i = 1; i < certs.size(); ++i) {
    if (X509_self_signed(certs[i].get(), 0) == 1) continue;
    bool known = X509_cmp(certs[i].get(), id->cert.get()) == 0;
    for (const X509Ptr& c : id->chain) known = known || X509_cmp(c.get(), certs[i].get()) == 0;
    if (!known) id->chain.push_back(std::move(certs[i]));
  }
  DrainOpensslErrors();
  id->encryption_cert = std::move(certs[0]);
  return Status::Ok();
}

}  // namespace

Status LoadKeyLine(const std::vector<std::string>& f, const std::string& origin,
                   TokenLoadPass* pass, Identity* id, std::string* encryption_cert_file) {
  if (f.size() < 3) return Status::Config("expected ADDRESS CERTIFICATE-FILE KEY-FILE [options]");
  id->origin = origin;
  if (!IsAddressOrAtDomain(f[0]))
    return Status::Config("'" + f[0] + "' is neither an address nor @domain");
  // Keyed in the one address form (A-label domain), so a From: in U-labels
  // finds an identity listed in A-labels and the other way round.
  const std::string why = CanonicalAddress(f[0], &id->address);
  if (!why.empty())
    return Status::Config("'" + f[0] + "': the domain is not a domain name (" + why + ")");
  id->domain_identity = id->address[0] == '@';
  std::string chain_file, pass_file, module, pin_file;
  for (size_t i = 3; i < f.size(); ++i) {
    size_t eq = f[i].find('=');
    std::string name = f[i].substr(0, eq),
                value = eq == std::string::npos ? "" : f[i].substr(eq + 1);
    if (value.empty()) return Status::Config("option '" + f[i] + "' needs a value");
    if (name == "chain")
      chain_file = value;
    else if (name == "passphrase_file")
      pass_file = value;
    else if (name == "pkcs11_module")
      module = value;
    else if (name == "pin_file")
      pin_file = value;
    else if (name == "encryption_cert" && encryption_cert_file)
      *encryption_cert_file = value;
    else
      return Status::Config("unknown option '" + name +
                            "' (known: chain, passphrase_file, pkcs11_module, pin_file" +
                            (encryption_cert_file ? ", encryption_cert)" : ")"));
  }
  const bool token = IsTokenKeyUri(f[2]);
  if (token && !pass_file.empty())
    return Status::Config("passphrase_file is for key files; a token key takes pin_file=FILE");
  if (token && module.empty())
    return Status::Config("token key " + f[2] +
                          " needs pkcs11_module=FILE (the token's PKCS#11 library, e.g. "
                          "/usr/lib/softhsm/libsofthsm2.so)");
  if (!token && (!module.empty() || !pin_file.empty()))
    return Status::Config("pkcs11_module and pin_file are for token keys (KEY-FILE pkcs11:...)");
  std::vector<X509Ptr> certs;
  Status st = ReadCertificates(f[1], &certs);
  if (!st.ok()) return st;
  if (!chain_file.empty()) st = ReadCertificates(chain_file, &certs);
  if (!st.ok()) return st;
  id->cert = std::move(certs[0]);
  // Signatures carry the chain below the trust anchor (RFC 8550 2.3): a
  // self-signed root in the file is not sent.
  for (size_t i = 1; i < certs.size(); ++i)
    if (X509_self_signed(certs[i].get(), 0) != 1) id->chain.push_back(std::move(certs[i]));
  DrainOpensslErrors();
  id->not_before = ToTimeT(X509_get0_notBefore(id->cert.get()));
  id->not_after = ToTimeT(X509_get0_notAfter(id->cert.get()));

  st = token ? LoadTokenKey(f[2], module, pin_file, pass, &id->key)
             : ReadKey(f[2], pass_file, &id->key);
  if (!st.ok()) return st;
  if (X509_check_private_key(id->cert.get(), id->key.get()) != 1) {
    DrainOpensslErrors();
    return Status::Config("key " + f[2] + " does not belong to the certificate in " + f[1] +
                          (token ? " (or the token holds no public key or certificate with the "
                                   "key's ID, which EC keys need)"
                                 : ""));
  }
  return Status::Ok();
}

std::string CertificateLacksAddress(const Identity& id) {
  if (id.domain_identity) return "";
  std::string list;
  for (const std::string& a : CertificateAddresses(id.cert.get())) {
    if (SameMailbox(a, id.address, false)) return "";
    list += (list.empty() ? "" : ", ") + a;
  }
  return "does not name " + id.address + " (it names: " + (list.empty() ? "no address" : list) +
         ")";
}

namespace {

Status LoadLine(const std::vector<std::string>& f, const std::string& origin, std::time_t now,
                TokenLoadPass* pass, Identity* id, std::vector<std::string>* warnings) {
  std::string enc_file;
  Status st = LoadKeyLine(f, origin, pass, id, &enc_file);
  if (!st.ok()) return st;
  std::string usage = SigningUsageProblem(id->cert.get());
  if (!usage.empty())
    return Status::Config("certificate " + f[1] + " is not fit for S/MIME signing: " + usage);
  int bits = 0;
  std::string type = KeyType(id->cert.get(), &bits);
  if ((type == "rsaEncryption" || type == "RSASSA-PSS") && bits < 2048)
    return Status::Config("certificate " + f[1] + " has a " + std::to_string(bits) +
                          "-bit RSA key; receivers (this filter included) refuse less than 2048");
  const std::string lacks = CertificateLacksAddress(*id);
  if (!lacks.empty()) return Status::Config("certificate " + f[1] + " " + lacks);
  const std::vector<std::string> addrs = CertificateAddresses(id->cert.get());
  if (!enc_file.empty()) {
    st = LoadEncryptionCert(enc_file, addrs, id);
    if (!st.ok()) return st;
  }
  if (id->domain_identity) {
    std::string list;
    for (const std::string& a : addrs) list += (list.empty() ? "" : ", ") + a;
    warnings->push_back(origin + ": domain identity " + id->address +
                        ": receiving clients check that From: is in the certificate, which "
                        "names: " +
                        (list.empty() ? "no address" : list));
  }
  return ProbeSign(*id, now);
}

}  // namespace

Status IdentityStore::Load(const std::string& path, bool required, std::time_t now,
                           IdentityStore* out, std::vector<std::string>* warnings) {
  IdentityStore fresh;
  std::vector<TableLine> lines;
  Status st = ReadTableFile(path, required, false, &lines);
  if (!st.ok()) return st;
  std::vector<std::string> warn;
  TokenLoadPass pass;  // each token's PIN is proven once per load (token_key.h)
  for (const TableLine& t : lines) {
    Identity id;
    st = LoadLine(t.fields, t.origin, now, &pass, &id, &warn);
    if (!st.ok()) return Status::Config(t.origin + ": " + st.message());
    st = fresh.Add(std::move(id));
    if (!st.ok()) return Status::Config(t.origin + ": " + st.message());
  }
  *out = std::move(fresh);
  warnings->insert(warnings->end(), warn.begin(), warn.end());
  return Status::Ok();
}

Status IdentityStore::Add(Identity id) {
  id.address = AddressForm(id.address);
  auto it = by_address_.find(id.address);
  if (it != by_address_.end())
    return Status::Config(id.address + " already defined at " + it->second.origin);
  std::string key = id.address;
  by_address_.emplace(std::move(key), std::move(id));
  return Status::Ok();
}

const Identity* IdentityStore::Find(const std::string& address) const {
  const std::string a = AddressForm(address);
  auto it = by_address_.find(a);
  if (it != by_address_.end()) return &it->second;
  size_t at = a.rfind('@');
  if (at == std::string::npos) return nullptr;
  it = by_address_.find(a.substr(at));
  return it == by_address_.end() ? nullptr : &it->second;
}

std::vector<std::string> IdentityStore::ExpiryWarnings(std::time_t now, int days) const {
  std::vector<std::string> out;
  for (const auto& [address, id] : by_address_) {
    std::string w =
        ExpiryWarning("identity " + address + " (" + id.origin + ")", id.not_after, now, days,
                      "mail from it is deferred unless sign = if-possible", "renew it");
    if (!w.empty()) out.push_back(std::move(w));
  }
  for (const auto& [address, id] : by_address_) {
    if (!id.encryption_cert) continue;
    const std::time_t end = ToTimeT(X509_get0_notAfter(id.encryption_cert.get()));
    if (end - now > static_cast<std::time_t>(days) * 86400) continue;
    out.push_back("identity " + address + " (" + id.origin + "): encryption certificate " +
                  (end <= now ? "expired" : "expires within " + std::to_string(days) + " days") +
                  ": once expired, signatures no longer name it; renew it");
  }
  return out;
}

namespace {
std::shared_ptr<X509> Share(X509* x) {
  X509_up_ref(x);
  return std::shared_ptr<X509>(x, X509_free);
}
}  // namespace

IdentityEncryptionCerts::IdentityEncryptionCerts(const IdentityStore& ids) {
  for (const auto& [address, id] : ids.all()) {
    if (id.domain_identity || !id.encryption_cert) continue;
    Entry e;
    e.cert = Share(id.encryption_cert.get());
    for (const X509Ptr& c : id.chain) e.chain.push_back(Share(c.get()));
    e.origin = "encryption_cert of " + id.origin;
    by_address_.emplace(address, std::move(e));
  }
}

Status IdentityEncryptionCerts::Find(const std::string& address, const Deadline&,
                                     std::vector<CertCandidate>* out) const {
  auto it = by_address_.find(AddressForm(address));
  if (it == by_address_.end()) return Status::Ok();
  CertCandidate c;
  X509_up_ref(it->second.cert.get());
  c.cert.reset(it->second.cert.get());
  c.trust = CertTrust::kAdmin;
  c.source = "identity";
  c.origin = it->second.origin;
  for (const auto& x : it->second.chain) {
    X509_up_ref(x.get());
    c.chain.emplace_back(x.get());
  }
  out->push_back(std::move(c));
  return Status::Ok();
}

}  // namespace smime
