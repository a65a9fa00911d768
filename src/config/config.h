// config/config: parse smime-milter.conf (Postfix main.cf syntax).
//
// Syntax: "name = value"; lines whose first non-blank is '#' are comments;
// a line starting with whitespace continues the previous value. Every name
// must be in the parameter table and every value must fit its type and
// bounds. A parameter set twice in the main configuration is a warning
// ("file:line: 'name' is also set at line N; the last one counts") and the
// last value counts, as in Postfix; in a policy file it is an error. Entry points: Config::Load
// (file), Config::Parse (text), Config:: Defaults. On failure they return a Status whose message is
// "file:line: reason" and leave the Config unchanged.
#ifndef SMIME_CONFIG_CONFIG_H_
#define SMIME_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/params.h"

namespace smime {

class Config {
 public:
  struct Value {
    std::string text;               // as written (continuations joined by one space)
    std::string origin;             // "file:line", or "default"
    int64_t number = 0;             // kInt, kSize, kBool (0/1)
    std::vector<std::string> list;  // kList: items split on commas/blanks
  };

  // Every parameter at its default.
  static Config Defaults();

  Status Load(const std::string& path);
  Status Parse(const std::string& text, const std::string& filename);
  // Sets the values of a policy file on top of this configuration; only
  // parameters allowed per domain (ParamAllowedInPolicy) may appear.
  Status ApplyPolicy(const std::string& text, const std::string& filename);

  const Value& Get(const std::string& name) const;  // name must be in the table
  const std::string& Str(const std::string& name) const { return Get(name).text; }
  int64_t Int(const std::string& name) const { return Get(name).number; }
  bool Bool(const std::string& name) const { return Get(name).number != 0; }
  const std::vector<std::string>& List(const std::string& name) const { return Get(name).list; }
  // Warnings of the last successful Load/Parse (repeated parameters).
  const std::vector<std::string>& Warnings() const { return warnings_; }

  // Checks and converts one value; on failure returns the reason (no file:line).
  static Status ParseValue(const ParamSpec& spec, const std::string& text, Value* out);

 private:
  Status ParseOnto(Config base, const std::string& text, const std::string& filename, bool policy);
  std::map<std::string, Value> values_;
  std::vector<std::string> warnings_;
};

// The daemon's pid file: pid_file, or state_dir/smime-milter.pid when empty.
// The reload status file is this path + ".reload": one line
// "GENERATION ok" or "GENERATION failed REASON" (generation 0: started).
std::string PidFilePath(const Config& config);

// Checks a milter socket spec as libmilter reads it, so that a typo fails
// at -n with the reason instead of at start-up (or listening elsewhere):
// unix:/PATH, local:/PATH or /PATH (absolute, fits sun_path), inet:PORT or
// inet:PORT@HOST, inet6:PORT@HOST (PORT a number 1..65535, or 0: a free
// port the system picks, for tests). Returns the reason without file:line.
Status CheckSocketSpec(const std::string& spec);

}  // namespace smime

#endif  // SMIME_CONFIG_CONFIG_H_
