// cli/store_bench: `smimectl bench --store SPEC [--store SPEC]... [-n N]
// [--now EPOCH] --rcpt ADDR...`: the certificate store's cost on the
// encryption path. For each store (a certificate_store value: sqlite,
// sqlite:FILE, postgresql:CONNINFO) it runs what RCPT does for a recipient
// of an encrypting domain N times per address: the local and harvested
// sources of that store asked through RecipientDirectory::Choose (chain
// and policy checks included, with the configuration's trust anchors,
// revocation and domain rules, under rcpt_deadline), and prints lookups/s
// and microseconds per lookup, so SQLite and PostgreSQL can be compared on
// the same certificates. Numbers, not assertions: see docs/scaling.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/deadline.h"
#include "certdir/cert_store_open.h"
#include "certdir/recipient_directory.h"
#include "cli/commands.h"
#include "engine/runtime.h"
#include "mime/rcpt_address.h"

namespace smime {

int StoreBenchCommand(const std::string& config_path, const std::vector<std::string>& args) {
  long n = 1000;
  std::time_t now = std::time(nullptr);
  std::vector<std::string> specs, rcpts;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store" && i + 1 < args.size()) {
      specs.push_back(args[++i]);
    } else if (args[i] == "--rcpt" && i + 1 < args.size()) {
      rcpts.push_back(EnvelopeAddress(args[++i]));
    } else if (args[i] == "-n" && i + 1 < args.size()) {
      n = std::strtol(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--now" && i + 1 < args.size()) {
      now = static_cast<std::time_t>(std::strtoll(args[++i].c_str(), nullptr, 10));
    } else {
      specs.clear();
      break;
    }
  }
  if (specs.empty() || rcpts.empty() || n <= 0) {
    std::fprintf(stderr,
                 "smimectl: usage: smimectl bench --store SPEC [--store SPEC]... [-n N] "
                 "[--now EPOCH] --rcpt ADDR...\n");
    return kExitUsage;
  }
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  const Config& config = rt->config;
  PgStoreOptions pg;
  pg.timeout_ms = static_cast<long>(config.Int("certificate_store_timeout")) * 1000;
  pg.pool_size = static_cast<int>(config.Int("certificate_store_connections"));
  SystemClock clock;
  for (const std::string& spec : specs) {
    std::shared_ptr<CertStore> store;
    Status st = OpenCertStore(spec, config.Str("state_dir"), pg, &store);
    if (!st.ok()) {
      std::fprintf(stderr, "smimectl: bench: %s\n", st.message().c_str());
      return st.code() == Status::Code::kConfig ? kExitConfig : kExitTempFail;
    }
    RecipientDirectory dir;
    dir.AddSource(std::make_unique<LocalCerts>(store));
    dir.AddSource(std::make_unique<HarvestedCerts>(store));
    dir.SetChainHints(store);
    long found = 0, unavailable = 0;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      for (const std::string& address : rcpts) {
        const DomainRules& rules = rt->RulesFor(DomainOf(address));
        ChoiceRules cr;
        cr.min_trust = rules.min_trust;
        cr.revocation = rules.revocation_mode;
        cr.algorithms = {rules.allow_sha1, rules.min_rsa_bits};
        const Deadline deadline = Deadline::After(clock, config.Int("rcpt_deadline") * 1000);
        RecipientChoice c = dir.Choose(address, cr, rt->trust, rt->revocation.get(), now, deadline);
        found += c.found;
        unavailable += !c.unavailable.empty();
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double lookups = static_cast<double>(n) * static_cast<double>(rcpts.size());
    std::printf(
        "store %s: %.0f lookups, found=%ld unavailable=%ld, %.0f lookups/s, %.1f us/lookup\n",
        store->path().c_str(), lookups, found, unavailable, lookups / secs, secs * 1e6 / lookups);
  }
  return kExitOk;
}

}  // namespace smime
