// config/params: the one table of configuration parameters.
//
// Every parameter is declared exactly once, in params.cc, with its type,
// default, bounds and a one-line doc. The same table drives the parser
// (config.cc), `smimectl config check|dump|doc` and docs/parameters.md.
#ifndef SMIME_CONFIG_PARAMS_H_
#define SMIME_CONFIG_PARAMS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace smime {

enum class ParamType { kString, kPath, kBool, kInt, kSize, kEnum, kList };

struct ParamSpec {
  const char* name;
  ParamType type;
  const char* default_value;  // in config-file syntax
  int64_t min;                // kInt/kSize bounds, inclusive
  int64_t max;
  const char* choices;  // kEnum: "a|b|c"
  const char* doc;
};

// All parameters, sorted by name.
const std::vector<ParamSpec>& ParamTable();

// nullptr when no parameter has this name.
const ParamSpec* FindParam(const std::string& name);

const char* ParamTypeName(ParamType t);

// True for parameters a per-domain policy file may set (policy_dir).
bool ParamAllowedInPolicy(const std::string& name);

}  // namespace smime

#endif  // SMIME_CONFIG_PARAMS_H_
