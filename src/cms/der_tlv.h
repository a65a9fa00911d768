// cms/der_tlv: the header of one DER element, read by OpenSSL's
// ASN1_get_object, for the two places that patch DER we made ourselves
// (cms/der_splice: lengths around kept-apart content; cms/sign: the
// signing template's value slots).
//
// Entry point: ReadDerTlv(). Only single-byte identifiers and definite
// lengths are accepted (all that OpenSSL's DER encoder writes on those
// paths); anything else, or an element running past its bound, is a
// false return with nothing read and OpenSSL's error queue left empty.
#ifndef SMIME_CMS_DER_TLV_H_
#define SMIME_CMS_DER_TLV_H_

#include <cstddef>
#include <string>

namespace smime {

struct DerTlv {
  unsigned char tag = 0;  // the identifier octet (class, constructed bit, number)
  size_t at = 0, header = 0, length = 0;
  size_t content() const { return at + header; }
  size_t end() const { return at + header + length; }
};

// On success *t is the element starting at der[at], which lies wholly
// before end (end <= der.size()).
bool ReadDerTlv(const std::string& der, size_t at, size_t end, DerTlv* t);

}  // namespace smime

#endif  // SMIME_CMS_DER_TLV_H_
