// policy/signing_users: see signing_users.h.
#include "policy/signing_users.h"

#include "base/text.h"
#include "mime/rcpt_address.h"

namespace smime {

Status SigningUsers::Load(const std::string& path, bool required, SigningUsers* out) {
  SigningUsers fresh;
  std::vector<TableLine> lines;
  Status st = ReadTableFile(path, required, true, &lines);
  if (!st.ok()) return st;
  for (const TableLine& t : lines) {
    const std::vector<std::string>& f = t.fields;
    if (f.size() < 2) return Status::Config(t.origin + ": expected LOGIN ADDRESS|@DOMAIN ...");
    std::vector<std::string>& list = fresh.allowed_[f[0]];
    for (size_t i = 1; i < f.size(); ++i) {
      if (!IsAddressOrAtDomain(f[i]))
        return Status::Config(t.origin + ": '" + f[i] + "' is neither an address nor @domain");
      std::string a;
      const std::string why = CanonicalAddress(f[i], &a);
      if (!why.empty())
        return Status::Config(t.origin + ": '" + f[i] + "': the domain is not a domain name (" +
                              why + ")");
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
  const std::string a = AddressForm(address);
  const size_t at = a.rfind('@');
  if (at == std::string::npos) return false;
  for (const std::string& e : it->second)
    if (e == a || (e[0] == '@' && e == a.substr(at))) return true;
  return false;
}

}  // namespace smime
