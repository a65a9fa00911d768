// cli/bench_command: `smimectl bench [-n N] [--now EPOCH] [--outbound
// --sasl-user LOGIN [--rcpt ADDR]...] [--compare-raw --raw-key KEY.pem
// [--raw-op sign|verify] [--rounds R]] [--thread-per-message] FILE...`:
// runs the engine on each message N times, exactly as `process` does (parse,
// Process, apply edits), and prints the throughput: inbound verification by
// default, outbound signing (and encryption to --rcpt) with --outbound.
//
// --thread-per-message runs each message on a thread of its own, started for
// it and joined after it: the daemon's condition under load, where
// libmilter's worker pool starts and ends threads all the time (0.8 per
// message through Postfix here, docs/performance.md), so the engine
// meets cold caches, a fresh thread stack and the thread start and exit.
//
// --compare-raw measures, in the same run, the raw OpenSSL rate of the
// public-key operation that bounds the path (EVP_DigestSign or
// EVP_DigestVerify with SHA-256 on KEY's RSA key: sign for outbound signing,
// verify for inbound verification and for encryption, which needs one
// public-key operation per recipient) and prints our rate as a ratio of it.
// The two alternate in R short rounds of about equal length so that load
// from other processes on the machine affects both alike. Numbers, not
// assertions: see docs/performance.md.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "base/ossl.h"
#include "cli/commands.h"
#include "engine/processor.h"
#include "engine/runtime.h"

namespace smime {

namespace {

using Seconds = std::chrono::duration<double>;
using SteadyClock = std::chrono::steady_clock;

// One raw public-key operation on a fixed 32-byte message, repeated.
class RawOp {
 public:
  // key_path: PEM private key; op: "sign" or "verify". Empty error = ready.
  std::string Init(const std::string& key_path, const std::string& op) {
    BioPtr bio(BIO_new_file(key_path.c_str(), "r"));
    if (!bio) return "cannot read " + key_path;
    key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key_) return "no private key in " + key_path + ": " + DrainOpensslErrors();
    sign_ = op == "sign";
    if (!sign_ && op != "verify") return "--raw-op must be sign or verify";
    sig_.resize(static_cast<size_t>(EVP_PKEY_get_size(key_.get())));
    size_t len = sig_.size();
    if (!Sign(&len)) return "raw sign failed: " + DrainOpensslErrors();
    sig_.resize(len);
    return "";
  }
  const char* name() const { return sign_ ? "sign" : "verify"; }
  bool RunOnce() {
    if (sign_) {
      size_t len = sig_.size();
      return Sign(&len);
    }
    std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
    return ctx &&
           EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), sig_.data(), sig_.size(), msg_, sizeof msg_) == 1;
  }

 private:
  bool Sign(size_t* len) {
    std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
    return ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
           EVP_DigestSign(ctx.get(), sig_.data(), len, msg_, sizeof msg_) == 1;
  }
  EvpPkeyPtr key_;
  bool sign_ = false;
  std::vector<unsigned char> sig_;
  unsigned char msg_[32] = {'s', 'm', 'i', 'm', 'e', '-', 'm', 'i', 'l', 't', 'e', 'r'};
};

}  // namespace

int BenchCommand(const std::string& config_path, const std::vector<std::string>& args) {
  for (const std::string& a : args)  // the store's cost instead (cli/store_bench.cc)
    if (a == "--store") return StoreBenchCommand(config_path, args);
  long n = 1000, rounds = 10;
  std::unique_ptr<Clock> clock = std::make_unique<SystemClock>();
  std::vector<std::string> files;
  Direction direction = Direction::kInbound;
  std::string login, raw_key, raw_op;
  bool compare_raw = false, thread_per_message = false;
  std::vector<std::string> rcpts;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--outbound") {
      direction = Direction::kOutbound;
    } else if (args[i] == "--sasl-user" && i + 1 < args.size()) {
      login = args[++i];
    } else if (args[i] == "--rcpt" && i + 1 < args.size()) {
      rcpts.push_back(EnvelopeAddress(args[++i]));
    } else if (args[i] == "-n" && i + 1 < args.size()) {
      n = std::strtol(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--now" && i + 1 < args.size()) {
      clock = std::make_unique<FixedClock>(std::strtoll(args[++i].c_str(), nullptr, 10));
    } else if (args[i] == "--compare-raw") {
      compare_raw = true;
    } else if (args[i] == "--raw-key" && i + 1 < args.size()) {
      raw_key = args[++i];
    } else if (args[i] == "--raw-op" && i + 1 < args.size()) {
      raw_op = args[++i];
    } else if (args[i] == "--rounds" && i + 1 < args.size()) {
      rounds = std::strtol(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--thread-per-message") {
      thread_per_message = true;
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty() || n <= 0 || rounds <= 0 || (compare_raw && raw_key.empty())) {
    std::fprintf(stderr,
                 "smimectl: usage: smimectl bench [-n N] [--now EPOCH] [--outbound --sasl-user "
                 "LOGIN [--rcpt ADDR]...] [--compare-raw --raw-key KEY.pem [--raw-op sign|verify] "
                 "[--rounds R]] [--thread-per-message] FILE...\n");
    return kExitUsage;
  }
  RawOp raw;
  if (compare_raw) {
    if (raw_op.empty())
      raw_op = direction == Direction::kOutbound && rcpts.empty() ? "sign" : "verify";
    if (std::string err = raw.Init(raw_key, raw_op); !err.empty()) {
      std::fprintf(stderr, "smimectl: bench: %s\n", err.c_str());
      return kExitUsage;
    }
  }
  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "smimectl: bench: cannot read %s\n", f.c_str());
      return kExitUsage;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string raw_message = ss.str();
    std::string verdict;
    auto run_here = [&]() {
      Transaction tx;
      tx.direction = direction;
      tx.sasl_user = login;
      tx.rcpts = rcpts;
      ParseRawMessage(raw_message, &tx);
      Outcome o = Process(*rt, tx, *clock);
      ApplyEdits(o, &tx);
      if (direction == Direction::kInbound) {
        verdict = std::string("verdict=") + AuthResultName(o.verdict);
      } else {
        verdict.clear();
        for (const char* name : {"action=", "encryption="}) {
          size_t at = o.fields.find(name);
          if (at == std::string::npos) continue;
          if (!verdict.empty()) verdict += ' ';
          verdict += o.fields.substr(at, o.fields.find(',', at) - at);
        }
        if (verdict.empty()) verdict = "action=?";
      }
    };
    // An exception on the message's thread is rethrown on this one.
    auto run_ours = [&]() {
      if (!thread_per_message) return run_here();
      std::exception_ptr failure;
      std::thread t([&]() {
        try {
          run_here();
        } catch (...) {
          failure = std::current_exception();
        }
      });
      t.join();
      if (failure) std::rethrow_exception(failure);
    };
    if (!compare_raw) {
      auto start = SteadyClock::now();
      for (long i = 0; i < n; ++i) run_ours();
      double secs = Seconds(SteadyClock::now() - start).count();
      std::printf("%s: %ld runs, %zu bytes, %s, %.0f messages/s, %.1f us/message\n", f.c_str(), n,
                  raw_message.size(), verdict.c_str(), n / secs, secs * 1e6 / n);
      continue;
    }
    // Alternating rounds: ours for n/rounds messages, then the raw operation
    // for about as long (its count estimated from the rate so far).
    run_ours();  // warm caches and lazily loaded state, as a running daemon has them
    double ours_secs = 0, raw_secs = 0;
    long ours_count = 0, raw_count = 0, raw_batch = 64;
    const long per_round = n / rounds > 0 ? n / rounds : 1;
    for (long r = 0; r < rounds; ++r) {
      auto start = SteadyClock::now();
      for (long i = 0; i < per_round; ++i) run_ours();
      double t = Seconds(SteadyClock::now() - start).count();
      ours_secs += t;
      ours_count += per_round;
      if (raw_count > 0) raw_batch = static_cast<long>(t * raw_count / raw_secs) + 1;
      start = SteadyClock::now();
      for (long i = 0; i < raw_batch; ++i) {
        if (!raw.RunOnce()) {
          std::fprintf(stderr, "smimectl: bench: raw %s failed: %s\n", raw.name(),
                       DrainOpensslErrors().c_str());
          return kExitInternal;
        }
      }
      raw_secs += Seconds(SteadyClock::now() - start).count();
      raw_count += raw_batch;
    }
    double ours_rate = ours_count / ours_secs, raw_rate = raw_count / raw_secs;
    std::printf(
        "%s: %zu bytes, %s, %ld runs in %ld rounds, ours %.0f messages/s (%.1f us/message), raw "
        "%s %.0f/s, ratio %.1f%%\n",
        f.c_str(), raw_message.size(), verdict.c_str(), ours_count, rounds, ours_rate,
        ours_secs * 1e6 / ours_count, raw.name(), raw_rate, 100 * ours_rate / raw_rate);
  }
  return kExitOk;
}

}  // namespace smime
