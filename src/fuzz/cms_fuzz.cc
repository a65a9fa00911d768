// fuzz/cms_fuzz: CMS SignedData verification and envelope reading on
// hostile DER.
//
// The input is taken as the DER ContentInfo of a signature. VerifySignedData
// runs on it twice: as opaque signed-data (no detached content) and as a
// detached signature over a fixed content; then the reading of inbound
// decryption (cms/decrypt: ReadEnvelope, which walks the envelope's DER for
// its cipher, and SignedDataContent for triple-wrapped mail). Any outcome is
// fine; a
// bug is any crash, sanitizer report (ASan/UBSan), leak, hang or exception,
// or OpenSSL errors left on the thread's queue afterwards (they would leak
// into the next message).
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cms/decrypt.h"
#include "cms/signed_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string der(reinterpret_cast<const char*>(data), size);
  static const std::string content =
      "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Carol,\r\n\r\n"
      "this message is signed.\r\n";
  (void)smime::VerifySignedData(der, nullptr, 4);
  const std::string_view view(content);
  (void)smime::VerifySignedData(der, &view, 4);
  smime::EnvelopeFacts facts;
  (void)smime::ReadEnvelope(der, &facts);
  std::string inner;
  (void)smime::SignedDataContent(der, &inner);
  if (unsigned long e = ERR_peek_error()) {
    std::fprintf(stderr, "cms_fuzz: OpenSSL error left on the queue: %lx\n", e);
    std::abort();
  }
  return 0;
}
