// base/text: small string and file helpers shared by the modules.
#ifndef SMIME_BASE_TEXT_H_
#define SMIME_BASE_TEXT_H_

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace smime {

// ASCII lower case (addresses, domains, parameter values); other bytes kept.
std::string AsciiLower(std::string s);

// The whole file; false when it cannot be opened or read (errno tells why).
bool ReadWholeFile(const std::string& path, std::string* out);

// "user@domain" or "@domain" (exactly one '@', a non-empty domain).
bool IsAddressOrAtDomain(const std::string& s);

// One record of a table file (signing_identities, signing_users).
struct TableLine {
  std::string origin;               // "file:line"
  std::vector<std::string> fields;  // split on blanks (and commas when asked)
};

// Reads a table file: one record per line; blank lines and lines whose first
// field starts with '#' are skipped. A missing file gives no records unless
// required; any other failure is a Status naming the file.
Status ReadTableFile(const std::string& path, bool required, bool commas_separate,
                     std::vector<TableLine>* out);

// Base64 in 76-column CRLF lines (S/MIME bodies), streamed: the bytes given
// to Write() in any slicing encode as their concatenation would. Appends to
// *out; the caller may take what is there between writes.
class Base64LineWriter {
 public:
  explicit Base64LineWriter(std::string* out) : out_(out) {}
  void Write(std::string_view data);
  void Finish();  // the last, shorter line; nothing for no input

  // The encoded size of n bytes.
  static size_t EncodedSize(size_t n);

 private:
  std::string* out_;
  unsigned char pending_[57];
  size_t npending_ = 0;
};

// Encodes the last n bytes of *buf as base64 lines over *buf itself, whose
// size must be Base64LineWriter::EncodedSize(n): the encoding grows faster
// than it reads, so it never overwrites bytes not yet read (no second copy).
void Base64LinesInPlace(std::string* buf, size_t n);

// The one form of the expiry warnings (identities, trust anchors, admin
// recipient certificates): "WHAT expired at 2027-01-01T00:00:00Z: EXPIRED"
// once not_after has passed, "WHAT expires at ..., in N days: ADVICE" when
// it is at most days away; "" when it is further away.
std::string ExpiryWarning(const std::string& what, std::time_t not_after, std::time_t now, int days,
                          const std::string& expired, const std::string& advice);

}  // namespace smime

#endif  // SMIME_BASE_TEXT_H_
