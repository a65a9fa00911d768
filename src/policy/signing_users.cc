// policy/signing_users: see signing_users.h.
#include "policy/signing_users.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/text.h"

namespace smime {

namespace {}  // namespace

Status SigningUsers::Load(const std::string& path, bool required, SigningUsers* out) {
  SigningUsers fresh;
  std::ifstream in(path);
  if (!in) {
    if (!required && errno == ENOENT) {
      *out = std::move(fresh);
      return Status::Ok();
    }
    return Status::Config(path + ": cannot read: " + std::strerror(errno));
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    for (char& c : line)
      if (c == ',') c = ' ';
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string w; ss >> w;) f.push_back(w);
    if (f.empty() || f[0][0] == '#') continue;
    const std::string origin = path + ":" + std::to_string(n) + ": ";
    if (f.size() < 2) return Status::Config(origin + "expected LOGIN ADDRESS|@DOMAIN ...");
    std::vector<std::string>& list = fresh.allowed_[f[0]];
    for (size_t i = 1; i < f.size(); ++i) {
      std::string a = AsciiLower(f[i]);
      size_t at = a.find('@');
      if (at == std::string::npos || at + 1 >= a.size() || a.find('@', at + 1) != std::string::npos)
        return Status::Config(origin + "'" + f[i] + "' is neither an address nor @domain");
      list.push_back(a);
    }
  }
  *out = std::move(fresh);
  return Status::Ok();
}

bool SigningUsers::MayUse(const std::string& login, const std::string& address) const {
  if (login.empty()) return false;
  auto it = allowed_.find(login);
  if (it == allowed_.end()) return false;
  const std::string a = AsciiLower(address);
  const size_t at = a.rfind('@');
  if (at == std::string::npos) return false;
  for (const std::string& e : it->second)
    if (e == a || (e[0] == '@' && e == a.substr(at))) return true;
  return false;
}

}  // namespace smime
