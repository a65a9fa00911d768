// cms/der_splice: see der_splice.h.
#include "cms/der_splice.h"

#include <openssl/rand.h>

#include <cstring>

#include "base/ossl.h"
#include "cms/der_tlv.h"

namespace smime {

namespace {

constexpr size_t kMarker = 32;

void AppendLength(size_t n, std::string* out) {
  if (n < 0x80) {
    out->push_back(static_cast<char>(n));
    return;
  }
  unsigned char b[sizeof(size_t)];
  size_t k = 0;
  for (size_t v = n; v > 0; v >>= 8) b[k++] = static_cast<unsigned char>(v & 0xff);
  out->push_back(static_cast<char>(0x80 | k));
  while (k > 0) out->push_back(static_cast<char>(b[--k]));
}

// One element at der[at] (cms/der_tlv: single-byte tag, definite length).
bool ReadHeader(const std::string& der, size_t at, size_t end, unsigned char* tag, size_t* header,
                size_t* length) {
  DerTlv t;
  if (!ReadDerTlv(der, at, end, &t)) return false;
  *tag = t.tag;
  *header = t.header;
  *length = t.length;
  return true;
}

// Rewrites the element at der[at] whose contents include the marker at
// der[mark]: its header (with the new length) and the bytes up to the
// content go to *prefix, the bytes after it to *suffix. Returns the element's
// new encoded size, or 0 when the form is not one we rewrite.
size_t Splice(const std::string& der, size_t at, size_t end, size_t mark, size_t content_size,
              std::string* prefix, std::string* suffix) {
  unsigned char tag;
  size_t h, len;
  if (!ReadHeader(der, at, end, &tag, &h, &len)) return 0;
  const size_t c = at + h;
  if (mark < c || mark + kMarker > c + len) return 0;
  if (c == mark && len == kMarker && (tag & 0x20) == 0) {  // the content octet string
    std::string head(1, static_cast<char>(tag));
    AppendLength(content_size, &head);
    prefix->append(head);
    return head.size() + content_size;
  }
  if ((tag & 0x20) == 0) return 0;
  size_t child = c;
  DerTlv kid;
  bool found = false;
  while (child < c + len) {
    if (!ReadDerTlv(der, child, c + len, &kid)) return 0;
    if (mark >= child && mark < kid.end()) {
      found = true;
      break;
    }
    child = kid.end();
  }
  if (!found) return 0;
  std::string inner;
  const size_t grown = Splice(der, child, c + len, mark, content_size, &inner, suffix);
  if (grown == 0) return 0;
  const size_t after = kid.end();
  suffix->append(der, after, c + len - after);
  const size_t new_len = (child - c) + grown + (c + len - after);
  std::string head(1, static_cast<char>(tag));
  AppendLength(new_len, &head);
  prefix->append(head);
  prefix->append(der, c, child - c);
  prefix->append(inner);
  return head.size() + new_len;
}

}  // namespace

Status SplitDerAround(CMS_ContentInfo* cms, ASN1_OCTET_STRING** slot, size_t content_size,
                      std::string* prefix, std::string* suffix) {
  unsigned char marker[kMarker];
  if (RAND_bytes(marker, sizeof marker) != 1) return Status::Internal("der: no random marker");
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  if (!os || ASN1_OCTET_STRING_set(os, marker, sizeof marker) != 1) {
    ASN1_OCTET_STRING_free(os);
    return Status::Internal("der: out of memory");
  }
  ASN1_OCTET_STRING_free(*slot);
  *slot = os;
  unsigned char* out = nullptr;
  const int len = i2d_CMS_ContentInfo(cms, &out);
  if (len <= 0) {
    DrainOpensslErrors();
    return Status::Internal("der: cannot encode");
  }
  const std::string der(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  const std::string m(reinterpret_cast<const char*>(marker), sizeof marker);
  const size_t mark = der.find(m);
  if (mark == std::string::npos || der.find(m, mark + 1) != std::string::npos)
    return Status::Internal("der: marker not found once");
  std::string p, s;
  if (Splice(der, 0, der.size(), mark, content_size, &p, &s) == 0)
    return Status::Internal("der: unexpected encoding around the content");
  *prefix = std::move(p);
  *suffix = std::move(s);
  return Status::Ok();
}

}  // namespace smime
