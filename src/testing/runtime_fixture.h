// testing/runtime_fixture: the temporary folder and the runtime that the
// engine and milter unit tests set up around the in-memory PKI of
// testing/test_pki.
//
// MakeTestDir makes a private folder ($TMPDIR or /tmp) holding the test's
// trust anchor as anchors.pem; BuildTestRuntime builds a real Runtime
// (engine/runtime BuildRuntime) from the configuration every such test
// starts from plus the test's own lines; RemoveTestDir removes the folder
// with whatever the test and the runtime wrote there (the certificate
// store and its WAL files, key files), DeleteFixture is the teardown of a
// fixture holding such a folder. TestIdentity is a signing identity of a
// generated leaf. Failures are returned (an empty folder name, a
// Status) so that a cmocka setup function can report them.
#ifndef SMIME_TESTING_RUNTIME_FIXTURE_H_
#define SMIME_TESTING_RUNTIME_FIXTURE_H_

#include <memory>
#include <string>

#include "base/status.h"
#include "certdir/identity_store.h"
#include "engine/runtime.h"
#include "testing/test_pki.h"

namespace smime {
namespace testpki {

// A new folder $TMPDIR/<name>.XXXXXX (mode 0700) with anchor's certificate
// in anchors.pem; "" when either cannot be made.
std::string MakeTestDir(const std::string& name, const Issued& anchor);

// Removes dir and everything below it; a no-op for "".
void RemoveTestDir(const std::string& dir);

// BuildRuntime over "authserv_id = mx.example.net", "trust_anchors =
// <dir>/anchors.pem" and then lines (each ending in a newline), parsed as
// test.conf (so the test's first line is test.conf:3).
Status BuildTestRuntime(const std::string& dir, const std::string& lines,
                        std::unique_ptr<Runtime>* rt);

// The teardown of a fixture whose dir came from MakeTestDir: the fixture
// goes first (its runtime closes the files it holds there), then the folder.
template <class Fixture>
int DeleteFixture(Fixture*& fixture) {
  const std::string dir = fixture->dir;
  delete fixture;
  fixture = nullptr;
  RemoveTestDir(dir);
  return 0;
}

// A signing identity for address: leaf's certificate and key, inter as the
// chain, the default validity window (kNotBefore..kNotAfter); "@domain"
// addresses are domain identities.
Identity TestIdentity(const std::string& address, const Issued& leaf, const Issued& inter);

}  // namespace testpki
}  // namespace smime

#endif  // SMIME_TESTING_RUNTIME_FIXTURE_H_
