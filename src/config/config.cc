// config/config: main.cf-style parser. See config.h.
#include "config/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace smime {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool ParseInteger(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  *out = std::strtoll(s.c_str(), nullptr, 10);
  return true;
}

}  // namespace

Config Config::Defaults() {
  Config c;
  for (const ParamSpec& p : ParamTable()) {
    Value v;
    Status st = ParseValue(p, p.default_value, &v);
    if (!st.ok()) throw std::logic_error(std::string("bad default for ") + p.name);
    v.origin = "default";
    c.values_[p.name] = v;
  }
  return c;
}

Status Config::ParseValue(const ParamSpec& spec, const std::string& text, Value* out) {
  Value v;
  v.text = text;
  switch (spec.type) {
    case ParamType::kString:
    case ParamType::kPath:
      if (spec.type == ParamType::kPath && !text.empty() && text[0] != '/')
        return Status::Config("'" + text + "' is not an absolute path");
      break;
    case ParamType::kBool:
      if (text == "yes")
        v.number = 1;
      else if (text == "no")
        v.number = 0;
      else
        return Status::Config("'" + text + "' is not yes or no");
      break;
    case ParamType::kInt:
    case ParamType::kSize: {
      std::string digits = text;
      int64_t mult = 1;
      if (spec.type == ParamType::kSize && !digits.empty()) {
        switch (digits.back()) {
          case 'k':
          case 'K':
            mult = int64_t{1} << 10;
            digits.pop_back();
            break;
          case 'm':
          case 'M':
            mult = int64_t{1} << 20;
            digits.pop_back();
            break;
          case 'g':
          case 'G':
            mult = int64_t{1} << 30;
            digits.pop_back();
            break;
          default: break;
        }
      }
      int64_t n;
      if (!ParseInteger(digits, &n))
        return Status::Config("'" + text + "' is not a " +
                              (spec.type == ParamType::kSize ? "size (e.g. 10M)" : "number"));
      if (n > (int64_t{1} << 40) / mult) return Status::Config("'" + text + "' is too large");
      n *= mult;
      if (n < spec.min || n > spec.max)
        return Status::Config("'" + text + "' is out of range " + std::to_string(spec.min) + ".." +
                              std::to_string(spec.max));
      v.number = n;
      break;
    }
    case ParamType::kEnum: {
      std::string choices = std::string("|") + spec.choices + "|";
      if (text.empty() || choices.find("|" + text + "|") == std::string::npos)
        return Status::Config("'" + text + "' is not one of " + spec.choices);
      break;
    }
    case ParamType::kList: {
      std::string item;
      for (char c : text + ",") {
        if (c == ',' || c == ' ' || c == '\t') {
          if (!item.empty()) v.list.push_back(item);
          item.clear();
        } else {
          item.push_back(c);
        }
      }
      break;
    }
  }
  *out = std::move(v);
  return Status::Ok();
}

Status Config::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Config(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

Status Config::Parse(const std::string& text, const std::string& filename) {
  return ParseOnto(Defaults(), text, filename, false);
}

Status Config::ApplyPolicy(const std::string& text, const std::string& filename) {
  return ParseOnto(*this, text, filename, true);
}

Status Config::ParseOnto(Config next, const std::string& text, const std::string& filename,
                         bool policy) {
  std::map<std::string, int> seen;
  next.warnings_.clear();
  std::istringstream in(text);
  std::string line, name, value;
  int lineno = 0, name_line = 0;

  auto finish = [&]() -> Status {
    if (name.empty()) return Status::Ok();
    std::string where = filename + ":" + std::to_string(name_line);
    const ParamSpec* spec = FindParam(name);
    if (!spec) return Status::Config(where + ": unknown parameter '" + name + "'");
    if (policy && !ParamAllowedInPolicy(name))
      return Status::Config(where + ": '" + name +
                            "' can only be set in the main configuration, not per domain");
    if (seen.count(name) && policy)
      return Status::Config(where + ": '" + name + "' is already set at line " +
                            std::to_string(seen[name]));
    if (seen.count(name))
      next.warnings_.push_back(where + ": '" + name + "' is also set at " + filename + ":" +
                               std::to_string(seen[name]) + "; the last one counts");
    seen[name] = name_line;
    Value v;
    Status st = ParseValue(*spec, Trim(value), &v);
    if (!st.ok()) return Status::Config(where + ": " + name + ": " + st.message());
    v.origin = where;
    next.values_[name] = v;
    name.clear();
    return Status::Ok();
  };

  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (name.empty())
        return Status::Config(filename + ":" + std::to_string(lineno) +
                              ": continuation line without a parameter before it");
      value += " " + t;
      continue;
    }
    Status st = finish();
    if (!st.ok()) return st;
    size_t eq = t.find('=');
    if (eq == std::string::npos)
      return Status::Config(filename + ":" + std::to_string(lineno) + ": expected 'name = value'");
    name = Trim(t.substr(0, eq));
    value = Trim(t.substr(eq + 1));
    name_line = lineno;
    if (name.empty())
      return Status::Config(filename + ":" + std::to_string(lineno) + ": missing name before '='");
  }
  Status st = finish();
  if (!st.ok()) return st;
  *this = std::move(next);
  return Status::Ok();
}

const Config::Value& Config::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("unknown parameter " + name);
  return it->second;
}

Status CheckSocketSpec(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string scheme = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (scheme.empty() || scheme == "unix" || scheme == "local") {
    if (rest.empty() || rest[0] != '/')
      return Status::Config("'" + spec +
                            "' is not a milter socket: use unix:/path, local:/path, "
                            "inet:PORT@HOST or inet6:PORT@HOST");
    if (rest.size() >= 108)  // sizeof sockaddr_un::sun_path
      return Status::Config("'" + rest + "' is too long for a unix socket (107 bytes at most)");
    return Status::Ok();
  }
  if (scheme != "inet" && scheme != "inet6")
    return Status::Config("'" + spec + "': unknown scheme '" + scheme +
                          "': use unix:/path, local:/path, inet:PORT@HOST or inet6:PORT@HOST");
  const size_t at = rest.find('@');
  const std::string port = rest.substr(0, at);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) > 65535)
    return Status::Config("'" + spec + "': port '" + port + "' is not a number 1..65535");
  if (at != std::string::npos && at + 1 == rest.size())
    return Status::Config("'" + spec + "': empty host after '@'");
  return Status::Ok();
}

std::string PidFilePath(const Config& config) {
  const std::string& set = config.Str("pid_file");
  return set.empty() ? config.Str("state_dir") + "/smime-milter.pid" : set;
}

}  // namespace smime
