// trust/revocation: names for revocation states, as logged.
#include "trust/revocation.h"

namespace smime {

const char* RevocationStatusName(RevocationStatus s) {
  switch (s) {
    case RevocationStatus::kGood: return "good";
    case RevocationStatus::kRevoked: return "revoked";
    case RevocationStatus::kUnknown: return "unknown";
    case RevocationStatus::kUnavailable: return "unavailable";
    case RevocationStatus::kNoSource: return "no-source";
    case RevocationStatus::kNotChecked: return "not-checked";
  }
  return "?";
}

std::string RevocationLogSource(const RevocationResult& r) {
  if (r.deadline) return "deadline";
  return r.from_cache ? "cache" : r.source;
}

}  // namespace smime
