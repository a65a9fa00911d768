// policy/domain_policy: see domain_policy.h.
#include "policy/domain_policy.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/text.h"
#include "mime/rcpt_address.h"

namespace smime {

namespace {

// Parent domains of d, nearest first: a.b.c -> b.c, c.
std::vector<std::string> Parents(const std::string& d) {
  std::vector<std::string> out;
  for (size_t dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1))
    out.push_back(d.substr(dot + 1));
  return out;
}

Status ReadText(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Config(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::Ok();
}

}  // namespace

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  if (at == std::string::npos) return "";
  // "b.example." is b.example and "bücher.example" is xn--bcher-kva.example
  // (the MTA delivers them there): policy must agree.
  return DomainForm(address.substr(at + 1));
}

Status PolicySet::Load(const Config& base, PolicySet* out) {
  PolicySet p;
  p.default_ = base;
  const std::string dir = base.Str("policy_dir");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (base.Get("policy_dir").origin == "default") {
      *out = std::move(p);
      return Status::Ok();
    }
    return Status::Config(base.Get("policy_dir").origin + ": policy_dir: " + dir +
                          " is not a folder");
  }
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return Status::Config(dir + ": cannot read: " + std::strerror(errno));
  std::vector<std::string> domains;
  std::map<std::string, std::string> file_of;  // canonical domain -> file name
  bool have_default = false;
  while (struct dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".conf") != 0) {
      // An admin's "example.com" or "example.com.conf~" is read by nobody:
      // say so instead of ignoring it silently. Folders (the installed
      // examples/) are left alone.
      struct stat sb;
      if (stat((dir + "/" + name).c_str(), &sb) == 0 && S_ISREG(sb.st_mode))
        p.warnings_.push_back(dir + "/" + name +
                              ": ignored: policy files are named DOMAIN.conf or default.conf");
      continue;
    }
    std::string domain = name.substr(0, name.size() - 5);
    if (domain == "default") {
      have_default = true;
    } else {
      // One form for file names and lookups: A-label lower case, so that
      // bücher.example.conf and xn--bcher-kva.example.conf are one domain.
      std::string canonical;
      const std::string why = CanonicalDomain(domain, &canonical);
      if (!why.empty() || domain.back() == '.')
        return Status::Config(
            dir + "/" + name + ": a policy file is named DOMAIN.conf or default.conf: '" + domain +
            "' is not a domain name (" + (why.empty() ? "trailing-dot" : why) + ")");
      auto [it, fresh] = file_of.emplace(canonical, name);
      if (!fresh)
        return Status::Config(dir + "/" + name + ": same domain (" + canonical + ") as " + dir +
                              "/" + it->second);
      domains.push_back(canonical);
    }
  }
  std::sort(p.warnings_.begin(), p.warnings_.end());
  std::string text;
  if (have_default) {
    const std::string path = dir + "/default.conf";
    Status s = ReadText(path, &text);
    if (s.ok()) s = p.default_.ApplyPolicy(text, path);
    if (!s.ok()) return s;
    p.default_files_.push_back(path);
  }
  // Parents first, so each domain layers on its nearest parent's result.
  std::sort(domains.begin(), domains.end(), [](const std::string& a, const std::string& b) {
    auto dots = [](const std::string& s) { return std::count(s.begin(), s.end(), '.'); };
    return dots(a) != dots(b) ? dots(a) < dots(b) : a < b;
  });
  for (const std::string& domain : domains) {
    Config layered = p.default_;
    std::vector<std::string> files = p.default_files_;
    for (const std::string& parent : Parents(domain)) {
      auto it = p.domains_.find(parent);
      if (it == p.domains_.end()) continue;
      layered = it->second;
      files = p.files_[parent];
      break;
    }
    const std::string path = dir + "/" + file_of[domain];
    Status s = ReadText(path, &text);
    if (s.ok()) s = layered.ApplyPolicy(text, path);
    if (!s.ok()) return s;
    files.push_back(path);
    p.domains_[domain] = std::move(layered);
    p.files_[domain] = std::move(files);
  }
  *out = std::move(p);
  return Status::Ok();
}

const Config& PolicySet::ForDomain(const std::string& domain,
                                   std::vector<std::string>* files) const {
  const std::string d = DomainForm(domain);
  std::vector<std::string> candidates{d};
  for (const std::string& parent : Parents(d)) candidates.push_back(parent);
  for (const std::string& c : candidates) {
    auto it = domains_.find(c);
    if (it == domains_.end()) continue;
    if (files) *files = files_.at(c);
    return it->second;
  }
  if (files) *files = default_files_;
  return default_;
}

std::vector<std::string> PolicySet::Domains() const {
  std::vector<std::string> out;
  for (const auto& kv : domains_) out.push_back(kv.first);
  return out;
}

}  // namespace smime
