// fuzz/config_fuzz: the configuration parser on hostile text.
//
// The input is the text of a configuration file; Config::Parse reads it
// (and, when it is accepted, Config::ApplyPolicy reads it again as a policy
// file on top). A rejected file is fine; a bug is any crash, sanitizer report
// (ASan/UBSan), leak, hang or exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  smime::Config config;
  if (config.Parse(text, "fuzz.conf").ok()) (void)config.ApplyPolicy(text, "fuzz.example.conf");
  return 0;
}
