// cms/signer_attributes: what harvesting keeps from a verified SignerInfo.
//
// Entry points: CapabilitiesOf (the SMIMECapabilities signed attribute, RFC
// 8551 2.5.2, reduced to content-encryption algorithms) and SigningTimeOf
// (the signingTime signed attribute, RFC 5652 11.3). Both read signed
// attributes only, so call them on a SignerInfo whose signature verified.
// Neither fails: a missing or malformed attribute gives an empty list / 0,
// and OpenSSL's error queue is left empty.
#ifndef SMIME_CMS_SIGNER_ATTRIBUTES_H_
#define SMIME_CMS_SIGNER_ATTRIBUTES_H_

#include <openssl/cms.h>

#include <ctime>
#include <vector>

namespace smime {

// The NIDs of the content-encryption algorithms the signer announced, in its
// order of preference, without duplicates (e.g. NID_aes_256_gcm,
// NID_aes_256_cbc). Algorithms OpenSSL does not know as ciphers, key-wrap
// algorithms and non-cipher entries (preferBinaryInside, RSA-OAEP, ...) are
// left out.
std::vector<int> CapabilitiesOf(CMS_SignerInfo* si);

// The signingTime as seconds since the epoch (UTCTime or GeneralizedTime);
// 0 when absent or unreadable.
std::time_t SigningTimeOf(CMS_SignerInfo* si);

}  // namespace smime

#endif  // SMIME_CMS_SIGNER_ATTRIBUTES_H_
