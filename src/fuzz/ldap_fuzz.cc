// fuzz/ldap_fuzz: decoding of LDAP certificate attribute values.
//
// The input is one raw attribute value as a directory returns it
// (userCertificate;binary DER, userSMIMECertificate PKCS#7 certs-only, or
// PEM). DecodeLdapCertificates may reject it; a bug is any crash, sanitizer
// report (ASan/UBSan), leak, hang or exception, a failure that still appends
// certificates, or a success that appends none or a null certificate.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "certdir/ldap_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string value(reinterpret_cast<const char*>(data), size);
  std::vector<smime::X509Ptr> certs;
  smime::Status st = smime::DecodeLdapCertificates(value, &certs);
  bool bad = st.ok() ? certs.empty() : !certs.empty();
  for (const smime::X509Ptr& c : certs) bad = bad || !c;
  if (bad) {
    std::fprintf(stderr, "ldap_fuzz: contract broken: ok=%d certs=%zu\n", st.ok() ? 1 : 0,
                 certs.size());
    std::abort();
  }
  return 0;
}
