// cms/sign: see sign.h. OpenSSL builds the SignerInfo; we only choose the
// attributes it would otherwise fill from the system clock or with legacy
// defaults (its built-in SMIMECapabilities still advertise DES and RC2).
#include "cms/sign.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>

#include "cms/der_splice.h"
#include "cms/der_tlv.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

using AlgorStackPtr = std::unique_ptr<STACK_OF(X509_ALGOR), void (*)(STACK_OF(X509_ALGOR)*)>;

void FreeAlgors(STACK_OF(X509_ALGOR) * s) { sk_X509_ALGOR_pop_free(s, X509_ALGOR_free); }

Status Fail(const std::string& what) {
  std::string detail = DrainOpensslErrors();
  return Status::Internal(what + (detail.empty() ? "" : ": " + detail));
}

// Our preferred content-encryption algorithms, most preferred first (RFC
// 8551 2.5.2, 2.7.1): GCM first so that peers answer in AuthEnvelopedData.
bool AddCapabilities(CMS_SignerInfo* si) {
  STACK_OF(X509_ALGOR)* raw = nullptr;
  AlgorStackPtr algs(nullptr, FreeAlgors);
  const int nids[] = {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc, NID_aes_128_cbc};
  for (int nid : nids) {
    if (CMS_add_simple_smimecap(&raw, nid, -1) != 1) {
      FreeAlgors(raw);
      return false;
    }
  }
  algs.reset(raw);
  return CMS_add_smimecap(si, algs.get()) == 1;
}

// The EVP_PKEY ex_data slot of SerializeSigningWith's lock (-1 if OpenSSL
// had none to give).
int SerialLockIndex() {
  static const int index = EVP_PKEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// DER of IssuerAndSerialNumber for cert, with the outer tag replaced by tag
// (0x30: SEQUENCE; 0xA0: [0] IMPLICIT). Empty on failure.
std::string IssuerAndSerial(X509* cert, unsigned char tag) {
  unsigned char* name = nullptr;
  unsigned char* serial = nullptr;
  const int nl = i2d_X509_NAME(X509_get_issuer_name(cert), &name);
  const int sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
  std::string body;
  if (nl > 0 && sl > 0) {
    body.assign(reinterpret_cast<const char*>(name), static_cast<size_t>(nl));
    body.append(reinterpret_cast<const char*>(serial), static_cast<size_t>(sl));
  }
  OPENSSL_free(name);
  OPENSSL_free(serial);
  if (body.empty()) return "";
  std::string out(1, static_cast<char>(tag));
  size_t len = body.size();
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
  } else {
    std::string digits;
    for (; len > 0; len >>= 8) digits.insert(digits.begin(), static_cast<char>(len & 0xff));
    out.push_back(static_cast<char>(0x80 | digits.size()));
    out += digits;
  }
  return out + body;
}

using ObjectPtr = std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using AttributePtr =
    std::unique_ptr<X509_ATTRIBUTE, OsslDeleter<X509_ATTRIBUTE, X509_ATTRIBUTE_free>>;

// A signed attribute nid whose single value is der as it stands, whatever
// its tag (V_ASN1_OTHER: OpenSSL writes such a value unchanged).
bool AddRawAttribute(CMS_SignerInfo* si, int nid, const std::string& der) {
  ASN1_STRING* value = ASN1_STRING_type_new(V_ASN1_OTHER);
  if (!value || ASN1_STRING_set(value, der.data(), static_cast<int>(der.size())) != 1) {
    ASN1_STRING_free(value);
    return false;
  }
  AttributePtr attr(X509_ATTRIBUTE_create(nid, V_ASN1_OTHER, value));  // owns value
  if (!attr) {
    ASN1_STRING_free(value);
    return false;
  }
  return CMS_signed_add1_attr(si, attr.get()) == 1;
}

// RFC 8551 2.5.3 SMIMEEncryptionKeyPreference (issuerAndSerialNumber [0])
// and Microsoft's 1.3.6.1.4.1.311.16.4 (a plain IssuerAndSerialNumber, read
// by Outlook), both naming the certificate replies should be encrypted to.
bool AddEncryptionKeyPreference(CMS_SignerInfo* si, X509* cert) {
  const std::string pref = IssuerAndSerial(cert, 0xA0);
  const std::string ms = IssuerAndSerial(cert, 0x30);
  if (pref.empty() || ms.empty()) return false;
  ObjectPtr ms_oid(OBJ_txt2obj("1.3.6.1.4.1.311.16.4", 1));
  return ms_oid && AddRawAttribute(si, NID_id_smime_aa_encrypKeyPref, pref) &&
         CMS_signed_add1_attr_by_OBJ(si, ms_oid.get(), V_ASN1_SEQUENCE, ms.data(),
                                     static_cast<int>(ms.size())) == 1;
}

bool AddSigningTime(CMS_SignerInfo* si, std::time_t t) {
  std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME, ASN1_TIME_free>> at(ASN1_TIME_set(nullptr, t));
  if (!at) return false;
  // RFC 5652 11.3: UTCTime through 2049, GeneralizedTime after.
  return CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, at->type, at.get(), -1) == 1;
}

}  // namespace

std::string MicalgName(const EVP_MD* md) {
  switch (EVP_MD_get_type(md)) {
    case NID_sha1: return "sha-1";
    case NID_sha256: return "sha-256";
    case NID_sha384: return "sha-384";
    case NID_sha512: return "sha-512";
    default: return "";
  }
}

const EVP_MD* EffectiveDigest(EVP_PKEY* key, const EVP_MD* md) {
  if (key && EVP_PKEY_is_a(key, "ED25519")) return EVP_sha512();
  return md ? md : EVP_sha256();
}

bool SerializeSigningWith(EVP_PKEY* key, std::mutex* mu) {
  const int index = SerialLockIndex();
  return index >= 0 && EVP_PKEY_set_ex_data(key, index, mu) == 1;
}

std::mutex* SerialLockOf(EVP_PKEY* key) {
  const int index = SerialLockIndex();
  return index < 0 ? nullptr : static_cast<std::mutex*>(EVP_PKEY_get_ex_data(key, index));
}

Status SignContent(const std::string& content, const SignParams& p, std::string* der) {
  std::string prefix, suffix;
  Status st = SignPieces({content}, p, &prefix, &suffix);
  if (!st.ok()) return st;
  if (!p.detached) prefix += content + suffix;
  *der = std::move(prefix);
  return Status::Ok();
}

Status SignPieces(const std::vector<std::string_view>& content, const SignParams& p,
                  std::string* prefix, std::string* suffix) {
  size_t total = 0;
  for (std::string_view piece : content) total += piece.size();
  return SignStream(
      [&content](const std::function<bool(std::string_view)>& emit) {
        for (std::string_view piece : content)
          if (!emit(piece)) return false;
        return true;
      },
      total, p, prefix, suffix);
}

namespace {

// The signature as OpenSSL's CMS encoder builds it (p.memo is not used).
Status SignWithEncoder(const ContentWriter& content, size_t total, const SignParams& p,
                       std::string* prefix, std::string* suffix) {
  // A key marked by SerializeSigningWith is locked while OpenSSL uses it:
  // CMS_add1_signer (which may set up its context) and CMS_dataFinal (which
  // signs), but not while the content is digested.
  std::mutex* key_mu = SerialLockOf(p.key);
  std::unique_lock<std::mutex> serial;
  if (key_mu) serial = std::unique_lock<std::mutex>(*key_mu);
  const EVP_MD* md = EffectiveDigest(p.key, p.md);
  // Always made detached: the content only passes through the digest; an
  // opaque signature gets it back around the DER (SplitDerAround).
  const unsigned int base = CMS_PARTIAL | CMS_BINARY | CMS_DETACHED;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, base));
  if (!cms) return Fail("sign: cannot create SignedData");

  const bool pss = p.rsa_padding == RsaPadding::kPss && EVP_PKEY_is_a(p.key, "RSA");
  unsigned int sflags = CMS_NOSMIMECAP | CMS_CADES | CMS_BINARY | (pss ? CMS_KEY_PARAM : 0u);
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), p.cert, p.key, md, sflags);
  if (!si) return Fail("sign: the key cannot sign with this certificate");
  if (pss) {
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    if (!pctx || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
      return Fail("sign: cannot select RSA-PSS");
  }
  if (serial.owns_lock()) serial.unlock();
  if (!AddCapabilities(si)) return Fail("sign: cannot add SMIMECapabilities");
  if (!AddSigningTime(si, p.signing_time)) return Fail("sign: cannot add signingTime");
  X509* enc = p.encryption_cert                        ? p.encryption_cert
              : EncryptionUsageProblem(p.cert).empty() ? p.cert
                                                       : nullptr;
  if (enc && !AddEncryptionKeyPreference(si, enc))
    return Fail("sign: cannot add SMIMEEncryptionKeyPreference");
  for (X509* c : p.chain)
    if (CMS_add1_cert(cms.get(), c) != 1) return Fail("sign: cannot add a chain certificate");
  // A separate encryption certificate travels with the signature, so the
  // reader has the certificate its key preference names.
  if (p.encryption_cert && X509_cmp(p.encryption_cert, p.cert) != 0 &&
      std::none_of(p.chain.begin(), p.chain.end(),
                   [&](X509* c) { return X509_cmp(c, p.encryption_cert) == 0; }) &&
      CMS_add1_cert(cms.get(), p.encryption_cert) != 1)
    return Fail("sign: cannot add the encryption certificate");

  // CMS_final(), in its two halves: digest the content, then sign.
  BioPtr cms_bio(CMS_dataInit(cms.get(), nullptr));
  if (!cms_bio) return Fail("sign: cannot start the content");
  if (total > kMaxCmsLength) return Status::Limit("sign: content too large");
  size_t digested = 0;
  bool bio_failed = false;
  const bool produced = content([&](std::string_view piece) {
    // Slices stay far below INT_MAX: BIO_write takes an int.
    for (size_t at = 0; at < piece.size(); at += 1u << 30) {
      const std::string_view slice = piece.substr(at, 1u << 30);
      const int size = static_cast<int>(slice.size());
      if (BIO_write(cms_bio.get(), slice.data(), size) != size) {
        bio_failed = true;
        return false;
      }
    }
    digested += piece.size();
    return digested <= total;
  });
  if (bio_failed) return Fail("sign: cannot digest the content");
  if (!produced || digested != total)
    return Status::Internal("sign: the content could not be produced as announced");
  (void)BIO_flush(cms_bio.get());
  if (key_mu) serial.lock();
  if (CMS_dataFinal(cms.get(), cms_bio.get()) != 1) return Fail("sign: signing failed");
  if (serial.owns_lock()) serial.unlock();
  if (!p.detached) {
    ASN1_OCTET_STRING** slot = CMS_get0_content(cms.get());
    if (!slot) return Fail("sign: no content slot");
    return SplitDerAround(cms.get(), slot, total, prefix, suffix);
  }
  unsigned char* out = nullptr;
  int len = i2d_CMS_ContentInfo(cms.get(), &out);
  if (len <= 0) return Fail("sign: cannot encode SignedData");
  prefix->assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  suffix->clear();
  OPENSSL_free(out);
  return Status::Ok();
}

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using AsnTimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME, ASN1_TIME_free>>;

// The element at der[at], which must lie before end and carry tag.
bool ReadTlv(const std::string& der, size_t at, size_t end, unsigned char tag, DerTlv* t) {
  return ReadDerTlv(der, at, end, t) && t->tag == tag;
}

// The contents octets of the OIDs we look for among the signed attributes.
const std::string kOidMessageDigest("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04", 9);
const std::string kOidSigningTime("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05", 9);

}  // namespace

struct SignMemo::Template {
  // What it was made for (references held: equal pointers are the same objects).
  X509Ptr cert;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain;
  X509Ptr encryption_cert;
  int md_type = 0;
  RsaPadding padding = RsaPadding::kPkcs1;
  int time_type = 0;
  // The ContentInfo and where the per-message values go.
  std::string der;
  size_t attrs_at = 0, attrs_size = 0;  // signedAttrs, [0] IMPLICIT SET OF
  size_t digest_at = 0, digest_len = 0;
  size_t time_at = 0, time_len = 0;
  size_t sig_at = 0, sig_len = 0;

  // (Only RSA keys have templates: their digest is p.md or SHA-256.)
  bool Matches(const SignParams& p, int type) const {
    if (cert.get() != p.cert || key.get() != p.key || encryption_cert.get() != p.encryption_cert ||
        chain.size() != p.chain.size() || md_type != EVP_MD_get_type(p.md ? p.md : EVP_sha256()) ||
        padding != p.rsa_padding || time_type != type)
      return false;
    for (size_t i = 0; i < chain.size(); ++i)
      if (chain[i].get() != p.chain[i]) return false;
    return true;
  }

  // Finds the places in der (a detached SignedData with one SignerInfo).
  bool Locate() {
    DerTlv ci, oid, exp, sd, ver, algs, eci, next, sis, si, sid, dalg, attrs, salg, sig;
    const size_t n = der.size();
    if (!ReadTlv(der, 0, n, 0x30, &ci) || ci.end() != n ||
        !ReadTlv(der, ci.content(), ci.end(), 0x06, &oid) ||
        !ReadTlv(der, oid.end(), ci.end(), 0xA0, &exp) ||
        !ReadTlv(der, exp.content(), exp.end(), 0x30, &sd) ||
        !ReadTlv(der, sd.content(), sd.end(), 0x02, &ver) ||
        !ReadTlv(der, ver.end(), sd.end(), 0x31, &algs) ||
        !ReadTlv(der, algs.end(), sd.end(), 0x30, &eci))
      return false;
    size_t at = eci.end();
    if (ReadTlv(der, at, sd.end(), 0xA0, &next)) at = next.end();  // certificates
    if (ReadTlv(der, at, sd.end(), 0xA1, &next)) at = next.end();  // CRLs
    if (!ReadTlv(der, at, sd.end(), 0x31, &sis) || sis.end() != sd.end() ||
        !ReadTlv(der, sis.content(), sis.end(), 0x30, &si) || si.end() != sis.end() ||
        !ReadTlv(der, si.content(), si.end(), 0x02, &ver))
      return false;
    if (!ReadTlv(der, ver.end(), si.end(), 0x30, &sid) &&
        !ReadTlv(der, ver.end(), si.end(), 0x80, &sid))
      return false;
    if (!ReadTlv(der, sid.end(), si.end(), 0x30, &dalg) ||
        !ReadTlv(der, dalg.end(), si.end(), 0xA0, &attrs) ||
        !ReadTlv(der, attrs.end(), si.end(), 0x30, &salg) ||
        !ReadTlv(der, salg.end(), si.end(), 0x04, &sig) || sig.end() != si.end())
      return false;
    int digests = 0, times = 0;
    for (size_t a = attrs.content(); a < attrs.end();) {
      DerTlv attr, type, values, value;
      if (!ReadTlv(der, a, attrs.end(), 0x30, &attr) ||
          !ReadTlv(der, attr.content(), attr.end(), 0x06, &type) ||
          !ReadTlv(der, type.end(), attr.end(), 0x31, &values) || values.end() != attr.end())
        return false;
      const std::string_view name(der.data() + type.content(), type.length);
      if (name == kOidMessageDigest || name == kOidSigningTime) {
        const bool is_digest = name == kOidMessageDigest;
        if (!ReadTlv(der, values.content(), values.end(), is_digest ? 0x04 : time_type, &value) ||
            value.end() != values.end())
          return false;
        (is_digest ? digest_at : time_at) = value.content();
        (is_digest ? digest_len : time_len) = value.length;
        ++(is_digest ? digests : times);
      }
      a = attr.end();
    }
    attrs_at = attrs.at;
    attrs_size = attrs.end() - attrs.at;
    sig_at = sig.content();
    sig_len = sig.length;
    return digests == 1 && times == 1 &&
           digest_len == static_cast<size_t>(EVP_MD_get_size(EVP_get_digestbynid(md_type))) &&
           sig_len == static_cast<size_t>(EVP_PKEY_get_size(key.get()));
  }
};

SignMemo::SignMemo() = default;
SignMemo::~SignMemo() = default;

std::shared_ptr<const SignMemo::Template> SignMemo::Find(const SignParams& p, int time_type) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : templates_)
    if (t->Matches(p, time_type)) return t;
  return nullptr;
}

void SignMemo::Keep(std::shared_ptr<const Template> t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (templates_.size() >= 8) templates_.erase(templates_.begin());
  templates_.push_back(std::move(t));
}

size_t SignMemo::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return templates_.size();
}

namespace {

// p's template, made now if the memo has none; nullptr when the encoder's
// output is not of the form the template needs (then the encoder signs).
std::shared_ptr<const SignMemo::Template> TemplateFor(const SignParams& p, int time_type) {
  if (auto t = p.memo->Find(p, time_type)) return t->der.empty() ? nullptr : t;
  auto t = std::make_shared<SignMemo::Template>();
  X509_up_ref(p.cert);
  t->cert.reset(p.cert);
  EVP_PKEY_up_ref(p.key);
  t->key.reset(p.key);
  for (X509* c : p.chain) {
    X509_up_ref(c);
    t->chain.emplace_back(c);
  }
  if (p.encryption_cert) {
    X509_up_ref(p.encryption_cert);
    t->encryption_cert.reset(p.encryption_cert);
  }
  t->md_type = EVP_MD_get_type(EffectiveDigest(p.key, p.md));
  t->padding = p.rsa_padding;
  t->time_type = time_type;
  SignParams q = p;
  q.memo = nullptr;
  q.detached = true;
  std::string suffix;
  const Status st = SignWithEncoder(
      [](const std::function<bool(std::string_view)>&) { return true; }, 0, q, &t->der, &suffix);
  if (!st.ok()) return nullptr;  // the encoder will say why
  if (!suffix.empty() || !t->Locate()) {
    // Kept as "no template" (empty DER), so the encoder is not run twice
    // per message for settings whose output the template cannot take.
    t->der.clear();
    p.memo->Keep(t);
    return nullptr;
  }
  p.memo->Keep(t);
  return t;
}

// Signs with t, or says *fits = false (nothing written, the content not
// asked for) when the message's values do not fit its places; the content
// is produced once, and only when they fit.
Status SignWithTemplate(const SignMemo::Template& t, const ContentWriter& content, size_t total,
                        const SignParams& p, const AsnTimePtr& time, bool* fits,
                        std::string* prefix, std::string* suffix) {
  const EVP_MD* md = EffectiveDigest(p.key, p.md);
  *fits = EVP_MD_get_size(md) == static_cast<int>(t.digest_len) &&
          static_cast<size_t>(time->length) == t.time_len;
  if (!*fits) return Status::Ok();
  if (total > kMaxCmsLength) return Status::Limit("sign: content too large");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    return Fail("sign: cannot start the content");
  size_t digested = 0;
  bool digest_failed = false;
  const bool produced = content([&](std::string_view piece) {
    if (EVP_DigestUpdate(ctx.get(), piece.data(), piece.size()) != 1) {
      digest_failed = true;
      return false;
    }
    digested += piece.size();
    return digested <= total;
  });
  if (digest_failed) return Fail("sign: cannot digest the content");
  if (!produced || digested != total)
    return Status::Internal("sign: the content could not be produced as announced");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &digest_len) != 1 || digest_len != t.digest_len)
    return Fail("sign: cannot digest the content");
  std::string der = t.der;
  std::memcpy(&der[t.digest_at], digest, digest_len);
  std::memcpy(&der[t.time_at], time->data, t.time_len);
  // The signature covers the attributes' DER with the SET OF tag (RFC 5652
  // 5.4), not the [0] IMPLICIT they carry in the SignerInfo.
  der[t.attrs_at] = 0x31;
  std::mutex* key_mu = SerialLockOf(p.key);
  std::unique_lock<std::mutex> serial;
  if (key_mu) serial = std::unique_lock<std::mutex>(*key_mu);
  MdCtxPtr sctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!sctx || EVP_DigestSignInit(sctx.get(), &pctx, md, nullptr, p.key) != 1)
    return Fail("sign: the key cannot sign with this certificate");
  if (p.rsa_padding == RsaPadding::kPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
    return Fail("sign: cannot select RSA-PSS");
  size_t sig_len = t.sig_len;
  if (EVP_DigestSign(sctx.get(), reinterpret_cast<unsigned char*>(&der[t.sig_at]), &sig_len,
                     reinterpret_cast<const unsigned char*>(der.data() + t.attrs_at),
                     t.attrs_size) != 1)
    return Fail("sign: signing failed");
  if (serial.owns_lock()) serial.unlock();
  // The template's place was measured on this key's signature (RSA: the
  // modulus length); the content is spent, so no second try.
  if (sig_len != t.sig_len) return Status::Internal("sign: the signature does not fit its place");
  der[t.attrs_at] = static_cast<char>(0xA0);
  *prefix = std::move(der);
  suffix->clear();
  return Status::Ok();
}

}  // namespace

Status SignStream(const ContentWriter& content, size_t total, const SignParams& p,
                  std::string* prefix, std::string* suffix) {
  if (!p.cert || !p.key) return Status::Internal("sign: no certificate or key");
  if (p.memo && p.detached && EVP_PKEY_is_a(p.key, "RSA")) {
    const AsnTimePtr time(ASN1_TIME_set(nullptr, p.signing_time));
    if (!time) return Fail("sign: cannot add signingTime");
    if (auto t = TemplateFor(p, time->type)) {
      bool fits = false;
      Status st = SignWithTemplate(*t, content, total, p, time, &fits, prefix, suffix);
      if (!st.ok() || fits) return st;
    }
  }
  return SignWithEncoder(content, total, p, prefix, suffix);
}

}  // namespace smime
