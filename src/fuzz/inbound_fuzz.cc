// fuzz/inbound_fuzz: the inbound engine on a hostile message.
//
// The input is one whole message as the MTA hands it over (headers, blank
// line, body; LF or CRLF). It goes through ParseRawMessage and Process()
// exactly as `smimectl process --inbound` does it, with a Runtime built once
// from a minimal configuration: authserv_id, revocation = off, a temporary
// state_dir (harvested certificates go to a throw-away certificates.db
// there) and as trust anchor the CA that signed the seed messages
// (tests/fuzz/inbound-trust.pem, or the file named by
// $SMIME_FUZZ_TRUST_ANCHORS), so the signed seeds verify as pass and the
// fuzzer explores what follows a verified signature (address matching,
// harvesting, header edits), not only the refusals. Inbound decryption is on
// (decrypt = yes; the recipient is alice@a.example): with
// $SMIME_FUZZ_DECRYPTION_KEY set to PREFIX, PREFIX.crt and PREFIX.key are her
// decryption key (tests/fuzz/run-fuzz.sh generates one with the test PKI and
// seeds encrypted to it: no private key is kept in the repository), so
// encrypted inputs reach the decryption, the inner verification and the
// RFC 9788 restore; without it encrypted inputs stop at the oracle rule (a
// note on stderr says so). The clock is pinned to the test PKI's "now".
// Without a readable anchor file (or a named key that is not readable) it
// aborts at start-up rather than fuzz what nothing reaches. Accepted
// messages get their edits applied and are serialised again. A bug is any
// crash, sanitizer report (ASan/UBSan), leak, hang or an exception escaping
// Process(), which promises never to throw.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "base/clock.h"
#include "config/config.h"
#include "engine/outcome.h"
#include "engine/processor.h"
#include "engine/runtime.h"
#include "engine/transaction.h"
#include "testing/test_pki.h"

namespace {

std::string g_dir;  // temporary folder: trust anchor, decryption key, state_dir

// The content of path, or abort: a fuzz run without it would test nothing.
std::string ReadOrAbort(const std::string& path, const char* must_contain, const char* env) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.is_open() || text.find(must_contain) == std::string::npos) {
    std::fprintf(stderr, "inbound_fuzz: nothing usable in %s (set %s)\n", path.c_str(), env);
    std::abort();
  }
  return text;
}

void RemoveTempDir() {
  std::error_code ignored;
  if (!g_dir.empty()) std::filesystem::remove_all(g_dir, ignored);
}

const smime::Runtime* MakeRuntime() {
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/inbound_fuzz.XXXXXX";
  if (!mkdtemp(&templ[0])) {
    std::perror("inbound_fuzz: mkdtemp");
    std::abort();
  }
  g_dir = templ;
  std::atexit(RemoveTempDir);
  const std::string anchors = g_dir + "/anchors.pem", state = g_dir + "/state";
  if (mkdir(state.c_str(), 0700) != 0) {
    std::perror("inbound_fuzz: mkdir");
    std::abort();
  }
  const char* seed_anchors = getenv("SMIME_FUZZ_TRUST_ANCHORS");
  if (!seed_anchors || !*seed_anchors) seed_anchors = SMIME_FUZZ_INBOUND_ANCHORS;
  std::ofstream(anchors, std::ios::trunc)
      << ReadOrAbort(seed_anchors, "-----BEGIN CERTIFICATE-----", "SMIME_FUZZ_TRUST_ANCHORS");
  // The decryption key, copied with mode 0600 (the key file checks).
  std::string keys_line;
  const char* key_prefix = getenv("SMIME_FUZZ_DECRYPTION_KEY");
  if (key_prefix && *key_prefix) {
    const std::string cert = g_dir + "/decrypt.crt", key = g_dir + "/decrypt.key",
                      keys = g_dir + "/decryption-keys";
    std::ofstream(cert, std::ios::trunc)
        << ReadOrAbort(std::string(key_prefix) + ".crt", "-----BEGIN CERTIFICATE-----",
                       "SMIME_FUZZ_DECRYPTION_KEY");
    {
      std::ofstream out(key, std::ios::trunc);
      chmod(key.c_str(), 0600);
      out << ReadOrAbort(std::string(key_prefix) + ".key", "PRIVATE KEY-----",
                         "SMIME_FUZZ_DECRYPTION_KEY");
    }
    std::ofstream(keys, std::ios::trunc) << "alice@a.example " << cert << " " << key << "\n";
    keys_line = "decryption_keys = " + keys + "\n";
  } else {
    std::fprintf(stderr,
                 "inbound_fuzz: SMIME_FUZZ_DECRYPTION_KEY not set: no decryption key, encrypted "
                 "inputs stay encrypted\n");
  }
  smime::Config config;
  std::string text = "authserv_id = mx.fuzz.example\nrevocation = off\n";
  text += "trust_anchors = " + anchors + "\n";
  text += "state_dir = " + state + "\n";
  text += "decrypt = yes\n" + keys_line;
  smime::Status st = config.Parse(text, "fuzz.conf");
  std::unique_ptr<smime::Runtime> rt;
  if (st.ok()) st = smime::BuildRuntime(config, &rt);
  if (!st.ok()) {
    std::fprintf(stderr, "inbound_fuzz: runtime: %s\n", st.message().c_str());
    std::abort();
  }
  return rt.release();  // lives for the whole process
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const smime::Runtime* rt = MakeRuntime();
  static const smime::FixedClock clock(smime::testpki::kNow);
  smime::Transaction tx;
  tx.direction = smime::Direction::kInbound;
  tx.mail_from = "sender@a.example";
  tx.rcpts.push_back("alice@a.example");  // has a decryption key
  smime::ParseRawMessage(std::string(reinterpret_cast<const char*>(data), size), &tx);
  smime::Outcome o = smime::Process(*rt, tx, clock);
  (void)o.LogLine(tx.queue_id);
  if (o.disposition == smime::Disposition::kAccept) {
    smime::ApplyEdits(o, &tx);
    (void)smime::WireMessage(tx);
  }
  return 0;
}
