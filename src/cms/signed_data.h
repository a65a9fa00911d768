// cms/signed_data: check a CMS SignedData structure and its signatures.
//
// Entry point: VerifySignedData(). It parses DER, enforces the structural
// rules of SMIME-RULES.md rule 2 (detached signatures carry no eContent,
// opaque ones do; at least one SignerInfo; signed attributes with a
// content-type equal to the eContentType) and checks every SignerInfo's
// signature over the content (with a signer certificate from the caller's
// candidates when the message lacks it). It does NOT judge certificates: chain, key
// usage and identity belong to trust/ and the engine. Every failure is a
// CmsCheck outcome with a short reason; OpenSSL errors are drained into
// `detail` so none leak into the next message.
#ifndef SMIME_CMS_SIGNED_DATA_H_
#define SMIME_CMS_SIGNED_DATA_H_

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/ossl.h"

namespace smime {

struct SignerFacts {
  X509Ptr cert;        // may be null when the message lacks the certificate
  int digest_nid = 0;  // NID of the digest algorithm
  std::string digest_name;
  std::vector<int> capabilities;      // SMIMECapabilities: content ciphers (NIDs), in order
  std::time_t signing_time = 0;       // signingTime attribute, 0 when absent
  bool cert_from_candidates = false;  // cert came from signer_candidates, not the message
};

struct CmsCheck {
  enum class Outcome {
    kVerified,      // every SignerInfo verified over the content
    kBadSignature,  // a signature or message digest did not match
    kForged,        // structure contradicts its MIME framing (eContent confusion)
    kMalformed,     // not parseable or not a valid SignedData
    kUnsupported,   // an algorithm this OpenSSL cannot process
    kNoSigners,     // zero SignerInfos (certs-only): not a signature
    kTooManySigners,
    kNotSignedData,  // e.g. EnvelopedData; reason holds the content type
  };
  Outcome outcome = Outcome::kMalformed;
  std::string reason;  // short, machine-readable, e.g. "content-digest-mismatch"
  std::string detail;  // OpenSSL's words, for the log
  std::vector<SignerFacts> signers;
  X509StackPtr certs;                        // every certificate in the message (path hints only)
  std::shared_ptr<STACK_OF(X509_CRL)> crls;  // CRLs carried in the message (may be null)
  // Opaque signed-data that verified: the first 256 KiB of the eContent,
  // where the payload's header block is (docs/header-protection.md).
  std::string content_head;
};

// der: the CMS ContentInfo. detached: the signed content for multipart/signed
// (bytes as received), or nullptr for opaque signed-data. signer_candidates
// (may be null): certificates to take a SignerInfo's certificate from when
// the message carries none matching its sid (issuerAndSerialNumber or
// subjectKeyIdentifier, as OpenSSL matches them); the message's own
// certificates always come first. Never trust: the chain is judged later.
CmsCheck VerifySignedData(const std::string& der, const std::string_view* detached, int max_signers,
                          STACK_OF(X509) * signer_candidates = nullptr);

}  // namespace smime

#endif  // SMIME_CMS_SIGNED_DATA_H_
