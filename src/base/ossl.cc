// base/ossl: OpenSSL error queue to text. See ossl.h.
#include "base/ossl.h"

#include <openssl/err.h>

namespace smime {

std::string DrainOpensslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out.append("; ");
    // Keep only the reason part: "error:ID:lib:func:reason" -> reason.
    const char* reason = ERR_reason_error_string(e);
    out.append(reason ? reason : buf);
  }
  return out;
}

}  // namespace smime
