// cms/der_splice: the DER of a CMS ContentInfo around content we keep apart.
//
// A signed or enveloped message of 30 MB encoded by i2d would be another
// 30 MB (and the signed content, copied into the structure, another): see
// docs/performance.md, "Memory per message". SplitDerAround() encodes the
// structure with a small random marker in place of the one large content
// octet string (eContent or encryptedContent) and rewrites the lengths of
// every element enclosing it for the real size, giving the bytes before and
// after the content: prefix + content + suffix is exactly what i2d would
// write with the content in place (definite lengths, primitive string).
// Failure (no marker found, a form we do not rewrite) is a Status; nothing
// else is touched.
#ifndef SMIME_CMS_DER_SPLICE_H_
#define SMIME_CMS_DER_SPLICE_H_

#include <openssl/cms.h>

#include <cstddef>
#include <string>

#include "base/status.h"

namespace smime {

// Sets *slot (the content octet string, as CMS_get0_content gives it; any
// old value is freed) to the marker, which cms then owns, and splits the
// DER of cms around content_size bytes of content.
Status SplitDerAround(CMS_ContentInfo* cms, ASN1_OCTET_STRING** slot, size_t content_size,
                      std::string* prefix, std::string* suffix);

}  // namespace smime

#endif  // SMIME_CMS_DER_SPLICE_H_
