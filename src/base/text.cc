// base/text: see text.h.
#include "base/text.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace smime {

std::string AsciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  *out = ss.str();
  return true;
}

bool IsAddressOrAtDomain(const std::string& s) {
  const size_t at = s.find('@');
  return at != std::string::npos && at + 1 < s.size() && s.find('@', at + 1) == std::string::npos;
}

Status ReadTableFile(const std::string& path, bool required, bool commas_separate,
                     std::vector<TableLine>* out) {
  out->clear();
  std::ifstream in(path);
  if (!in) {
    if (!required && errno == ENOENT) return Status::Ok();
    return Status::Config(path + ": cannot read: " + std::strerror(errno));
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (commas_separate)
      for (char& c : line)
        if (c == ',') c = ' ';
    std::istringstream ss(line);
    TableLine t;
    for (std::string w; ss >> w;) t.fields.push_back(w);
    if (t.fields.empty() || t.fields[0][0] == '#') continue;
    t.origin = path + ":" + std::to_string(n);
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

}  // namespace smime
