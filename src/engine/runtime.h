// engine/runtime: everything loaded from configuration that the engine needs,
// built once and then shared read-only between messages.
//
// Entry point: BuildRuntime(). It loads trust anchors and checks every value
// so that a bad configuration stops start-up (or a reload) with file:line and
// a reason. On failure *out is untouched. A Runtime is immutable after
// construction; the daemon swaps whole runtimes on reload.
#ifndef SMIME_ENGINE_RUNTIME_H_
#define SMIME_ENGINE_RUNTIME_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "mime/smime_locator.h"
#include "policy/direction.h"
#include "trust/online_revocation.h"
#include "trust/revocation.h"
#include "trust/trust_store.h"

namespace smime {

struct Runtime {
  Config config;
  std::string authserv_id;
  TrustStore trust;
  MimeLimits limits;
  std::vector<Cidr> internal_hosts;
  std::vector<std::string> originating_daemons;
  bool log_why = false;
  bool internal_error_accept = false;  // internal_error_action = accept
  size_t max_message_size = 0;
  size_t spool_memory_limit = 0;
  int max_signers = 4;
  int min_rsa_bits = 2048;
  bool allow_sha1 = false;
  bool local_part_case_sensitive = false;
  bool match_sender_header = false;
  enum class RevocationMode { kHard, kSoft, kOff };
  RevocationMode revocation_mode = RevocationMode::kHard;
  std::unique_ptr<RevocationChecker> revocation;
};

Status BuildRuntime(const Config& config, std::unique_ptr<Runtime>* out);

// The revocation settings of config; fails with file:line for a bad value.
Status RevocationOptionsFromConfig(const Config& config, RevocationOptions* ro);

}  // namespace smime

#endif  // SMIME_ENGINE_RUNTIME_H_
