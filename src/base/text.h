// base/text: small string and file helpers shared by the modules.
#ifndef SMIME_BASE_TEXT_H_
#define SMIME_BASE_TEXT_H_

#include <string>

namespace smime {

// ASCII lower case (addresses, domains, parameter values); other bytes kept.
std::string AsciiLower(std::string s);

// The whole file; false when it cannot be opened or read (errno tells why).
bool ReadWholeFile(const std::string& path, std::string* out);

}  // namespace smime

#endif  // SMIME_BASE_TEXT_H_
