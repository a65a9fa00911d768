// cli/policy_command: `smimectl policy explain ADDR`: the effective
// per-domain policy for an address, the file:line that set each value, and
// the signing identity that mail from the address would use, and the
// decryption keys that open mail to it.
#include <cstdio>
#include <ctime>
#include <memory>

#include "certdir/cert_store.h"
#include "cli/commands.h"
#include "config/params.h"
#include "engine/runtime.h"
#include "policy/domain_policy.h"
#include "trust/cert_info.h"

namespace smime {

int PolicyCommand(const std::string& config_path, const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "explain") {
    std::fprintf(stderr, "smimectl: usage: smimectl policy explain ADDRESS\n");
    return kExitUsage;
  }
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  const std::string domain = DomainOf(args[1]);
  if (domain.empty()) {
    std::fprintf(stderr, "smimectl: policy explain: '%s' is not an address\n", args[1].c_str());
    return kExitUsage;
  }
  std::vector<std::string> files;
  const Config& c = rt->policies.ForDomain(domain, &files);
  std::printf("address: %s\ndomain: %s\npolicy files:", args[1].c_str(), domain.c_str());
  if (files.empty()) std::printf(" none (main configuration only)");
  for (const std::string& f : files) std::printf(" %s", f.c_str());
  std::printf("\n");
  for (const ParamSpec& p : ParamTable())
    if (ParamAllowedInPolicy(p.name))
      std::printf("%s = %s  # %s\n", p.name, c.Str(p.name).c_str(), c.Get(p.name).origin.c_str());
  // As a recipient: the certificate mail to the address would be encrypted to.
  const DomainRules& rules = rt->RulesFor(domain);
  if (rules.encrypt != EncryptMode::kNever) {
    ChoiceRules cr;
    cr.min_trust = rules.min_trust;
    cr.revocation = rules.revocation_mode;
    cr.algorithms = {rules.allow_sha1, rules.min_rsa_bits};
    cr.smimea = rules.smimea;
    RecipientChoice choice =
        rt->directory.Choose(args[1], cr, rt->trust, rt->revocation.get(), std::time(nullptr));
    if (choice.found)
      std::printf("encryption certificate: %s serial %s (%s, trust %s)\n",
                  choice.chosen.source.c_str(), SerialHex(choice.chosen.cert.get()).c_str(),
                  choice.chosen.origin.c_str(), CertTrustName(choice.chosen.trust));
    else
      std::printf("encryption certificate: none usable\n");
    for (const std::string& u : choice.unavailable) std::printf("  unavailable: %s\n", u.c_str());
    for (const std::string& r : choice.rejected) std::printf("  not used: %s\n", r.c_str());
  }
  // As a recipient of encrypted mail: the keys that open it (docs/decryption.md).
  const std::vector<const Identity*> keys = rt->decryption_keys.For(args[1]);
  std::printf("decryption keys:%s\n",
              keys.empty() ? " none" : (rules.decrypt ? "" : " (not used: decrypt = no)"));
  for (const Identity* k : keys) {
    char until[32];
    struct tm tm;
    gmtime_r(&k->not_after, &tm);
    std::strftime(until, sizeof until, "%Y-%m-%d", &tm);
    std::printf("  %s  # %s\n    certificate: %s, serial %s, valid until %s, sha256 %s\n",
                k->address.c_str(), k->origin.c_str(), SubjectText(k->cert.get()).c_str(),
                SerialHex(k->cert.get()).c_str(), until, CertFingerprint(k->cert.get()).c_str());
  }
  const Identity* id = rt->identities.Find(args[1]);
  if (!id) {
    std::printf("signing identity: none\n");
    return kExitOk;
  }
  char until[32];
  struct tm tm;
  gmtime_r(&id->not_after, &tm);
  std::strftime(until, sizeof until, "%Y-%m-%d", &tm);
  std::printf("signing identity: %s  # %s\n  certificate: %s, serial %s, valid until %s%s\n",
              id->address.c_str(), id->origin.c_str(), SubjectText(id->cert.get()).c_str(),
              SerialHex(id->cert.get()).c_str(), until,
              id->not_after < std::time(nullptr) ? " (EXPIRED)" : "");
  if (id->domain_identity)
    std::printf("  note: a domain identity; receivers check that From: is in the certificate\n");
  return kExitOk;
}

}  // namespace smime
