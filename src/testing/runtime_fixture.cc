// testing/runtime_fixture: see runtime_fixture.h.
#include "testing/runtime_fixture.h"

#include <ftw.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>

#include "config/config.h"

namespace smime {
namespace testpki {

std::string MakeTestDir(const std::string& name, const Issued& anchor) {
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + name + ".XXXXXX";
  if (!mkdtemp(&dir[0])) return "";
  std::ofstream out(dir + "/anchors.pem");
  out << ToPem(anchor.cert.get());
  out.close();
  if (!out) {
    RemoveTestDir(dir);
    return "";
  }
  return dir;
}

void RemoveTestDir(const std::string& dir) {
  if (dir.empty()) return;
  // Depth first (files before their folder), never following links.
  nftw(
      dir.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) {
        std::remove(path);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

Status BuildTestRuntime(const std::string& dir, const std::string& lines,
                        std::unique_ptr<Runtime>* rt) {
  Config config;
  Status st = config.Parse(
      "authserv_id = mx.example.net\ntrust_anchors = " + dir + "/anchors.pem\n" + lines,
      "test.conf");
  if (!st.ok()) return st;
  return BuildRuntime(config, rt);
}

Identity TestIdentity(const std::string& address, const Issued& leaf, const Issued& inter) {
  Identity id;
  id.address = address;
  id.origin = "test";
  id.cert.reset(X509_dup(leaf.cert.get()));
  EVP_PKEY_up_ref(leaf.key.get());
  id.key.reset(leaf.key.get());
  id.chain.emplace_back(X509_dup(inter.cert.get()));
  id.not_before = kNotBefore;
  id.not_after = kNotAfter;
  id.domain_identity = !address.empty() && address[0] == '@';
  return id;
}

}  // namespace testpki
}  // namespace smime
