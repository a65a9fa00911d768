// policy/domain_policy: per-domain policy files.
//
// policy_dir holds DOMAIN.conf files and default.conf, in the main
// configuration's syntax, setting only per-domain parameters
// (ParamAllowedInPolicy). The configuration for a domain is built in layers,
// each value from the most specific layer that sets it: the main
// configuration, default.conf, then the files of the parent domains from the
// top down (example.com.conf before b.example.com.conf), then the domain's
// own file. Every value keeps its origin (file:line) for `smimectl policy
// explain`. Domains are compared in one form, IDNA2008 A-labels in lower
// case (mime/rcpt_address CanonicalDomain): file names are converted at load
// (bücher.example.conf is xn--bcher-kva.example) and so is every lookup key.
// Entry points: PolicySet::Load (start-up and reload: any error names
// file:line and stops; a file name that is not a domain, or two files for
// one domain, name the file and the reason), ForDomain (lookup, never fails).
#ifndef SMIME_POLICY_DOMAIN_POLICY_H_
#define SMIME_POLICY_DOMAIN_POLICY_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace smime {

class PolicySet {
 public:
  // Reads base's policy_dir. A missing folder is an error only when
  // policy_dir was set explicitly.
  static Status Load(const Config& base, PolicySet* out);

  // The layered configuration for domain (any letter case, U- or A-labels); files, when
  // given, receives the policy files that apply, least specific first.
  const Config& ForDomain(const std::string& domain,
                          std::vector<std::string>* files = nullptr) const;

  // Domains that have their own file, in A-label lower-case form.
  std::vector<std::string> Domains() const;

  // Files in policy_dir that are not read (not named *.conf; dot files and
  // folders are left alone), one "dir/name: ignored: ..." each, sorted.
  const std::vector<std::string>& Warnings() const { return warnings_; }

 private:
  Config default_;  // main configuration + default.conf
  std::vector<std::string> default_files_;
  std::map<std::string, Config> domains_;
  std::map<std::string, std::vector<std::string>> files_;
  std::vector<std::string> warnings_;
};

// The domain of an address ("" without '@') in A-label lower-case form,
// without trailing dots (a fully qualified "b.example." is b.example).
std::string DomainOf(const std::string& address);

}  // namespace smime

#endif  // SMIME_POLICY_DOMAIN_POLICY_H_
