// policy/signing_users: which authenticated logins may sign as which
// addresses, so the gateway is not a signing oracle.
//
// The file (parameter signing_users) has one line per SMTP AUTH login:
//
//   LOGIN  ADDRESS|@DOMAIN [ADDRESS|@DOMAIN ...]     (commas optional)
//
// @DOMAIN allows every address of that domain. Entry points: Load (start-up
// and reload; a malformed line, or a domain that is not a domain name,
// stops with file:line) and MayUse (per message, never fails). Logins
// compare exactly; addresses in mime/rcpt_address AddressForm (ASCII
// case-insensitive, domains as IDNA2008 A-labels, so an entry
// @bücher.example allows From: bob@xn--bcher-kva.example and the reverse).
#ifndef SMIME_POLICY_SIGNING_USERS_H_
#define SMIME_POLICY_SIGNING_USERS_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace smime {

class SigningUsers {
 public:
  // A missing file is an error only when required (set explicitly).
  static Status Load(const std::string& path, bool required, SigningUsers* out);

  // True when login may send (and have signed) mail as address.
  bool MayUse(const std::string& login, const std::string& address) const;

  size_t size() const { return allowed_.size(); }

 private:
  std::map<std::string, std::vector<std::string>> allowed_;  // login -> AddressForm entries
};

}  // namespace smime

#endif  // SMIME_POLICY_SIGNING_USERS_H_
