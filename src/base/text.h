// base/text: small string and file helpers shared by the modules.
#ifndef SMIME_BASE_TEXT_H_
#define SMIME_BASE_TEXT_H_

#include <string>
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

}  // namespace smime

#endif  // SMIME_BASE_TEXT_H_
