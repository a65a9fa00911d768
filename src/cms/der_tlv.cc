// cms/der_tlv: see der_tlv.h.
#include "cms/der_tlv.h"

#include <openssl/asn1.h>

#include <climits>

#include "base/ossl.h"

namespace smime {

bool ReadDerTlv(const std::string& der, size_t at, size_t end, DerTlv* t) {
  if (end > der.size() || at >= end || end - at > static_cast<size_t>(LONG_MAX)) return false;
  const unsigned char* start = reinterpret_cast<const unsigned char*>(der.data()) + at;
  const unsigned char* p = start;
  long length = 0;
  int number = 0, cls = 0;
  // 0x80: malformed or longer than the bound; 0x01: indefinite length.
  const int r = ASN1_get_object(&p, &length, &number, &cls, static_cast<long>(end - at));
  if ((r & 0x80) != 0 || (r & 0x01) != 0 || number >= 31) {
    DrainOpensslErrors();
    return false;
  }
  t->tag = static_cast<unsigned char>(cls | (r & V_ASN1_CONSTRUCTED) | number);
  t->at = at;
  t->header = static_cast<size_t>(p - start);
  t->length = static_cast<size_t>(length);
  return true;
}

}  // namespace smime
