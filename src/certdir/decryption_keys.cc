// certdir/decryption_keys: see decryption_keys.h.
#include "certdir/decryption_keys.h"

#include <openssl/x509.h>

#include "base/text.h"
#include "cms/decrypt.h"
#include "cms/encrypt.h"
#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

// Encrypts a few bytes to the certificate and opens them with the key:
// proves that the pair decrypts here (key transport or agreement, token
// included) before the first message needs it.
Status ProbeDecrypt(const Identity& id) {
  EncryptParams p;
  p.recipients.push_back({id.cert.get(), RsaKeyTransport::kPkcs1});
  p.cipher = ContentCipher::kAes256Gcm;
  std::string der, plain;
  Status st = EncryptContent("probe\r\n", p, &der);
  if (st.ok()) st = DecryptEnvelope(der, id.cert.get(), id.key.get(), &plain);
  if (!st.ok() || plain != "probe\r\n")
    return Status::Config("test decryption failed: " +
                          (st.ok() ? "wrong plaintext" : st.message()));
  return Status::Ok();
}

Status LoadLine(const TableLine& t, TokenLoadPass* pass, Identity* id) {
  Status st = LoadKeyLine(t.fields, t.origin, pass, id);
  if (!st.ok()) return st;
  const std::string& cert_file = t.fields[1];
  for (const std::string& opt : t.fields)
    if (opt.rfind("chain=", 0) == 0)
      return Status::Config("chain= is for signing identities; a decryption key needs none");
  const std::string usage = EncryptionUsageProblem(id->cert.get());
  if (!usage.empty())
    return Status::Config("certificate " + cert_file +
                          " is not fit for S/MIME encryption: " + usage);
  int bits = 0;
  const std::string type = KeyType(id->cert.get(), &bits);
  if (type == "rsaEncryption" && bits < 2048)
    return Status::Config("certificate " + cert_file + " has a " + std::to_string(bits) +
                          "-bit RSA key; senders (this filter included) refuse less than 2048");
  const std::string lacks = CertificateLacksAddress(*id);
  if (!lacks.empty()) return Status::Config("certificate " + cert_file + " " + lacks);
  return ProbeDecrypt(*id);
}

}  // namespace

Status DecryptionKeys::Load(const std::string& path, bool required, DecryptionKeys* out) {
  DecryptionKeys fresh;
  std::vector<TableLine> lines;
  Status st = ReadTableFile(path, required, false, &lines);
  if (!st.ok()) return st;
  TokenLoadPass pass;  // each token's PIN is proven once per load (token_key.h)
  for (const TableLine& t : lines) {
    Identity id;
    st = LoadLine(t, &pass, &id);
    if (!st.ok()) return Status::Config(t.origin + ": " + st.message());
    st = fresh.Add(std::move(id));
    if (!st.ok()) return Status::Config(t.origin + ": " + st.message());
  }
  *out = std::move(fresh);
  return Status::Ok();
}

Status DecryptionKeys::Add(Identity key) {
  key.address = AddressForm(key.address);
  std::vector<Identity>& list = by_address_[key.address];
  for (const Identity& k : list)
    if (X509_cmp(k.cert.get(), key.cert.get()) == 0)
      return Status::Config("this certificate is already listed for " + key.address + " at " +
                            k.origin);
  list.push_back(std::move(key));
  return Status::Ok();
}

std::vector<const Identity*> DecryptionKeys::For(const std::string& address) const {
  std::vector<const Identity*> out;
  const std::string a = AddressForm(address);
  auto add = [&](const std::string& k) {
    auto it = by_address_.find(k);
    if (it == by_address_.end()) return;
    for (const Identity& id : it->second) out.push_back(&id);
  };
  const size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0) return out;
  add(a);
  add(a.substr(at));
  return out;
}

size_t DecryptionKeys::size() const {
  size_t n = 0;
  for (const auto& [a, list] : by_address_) n += list.size();
  return n;
}

}  // namespace smime
