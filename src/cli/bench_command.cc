// cli/bench_command: `smimectl bench [-n N] [--now EPOCH] [--outbound
// --sasl-user LOGIN [--rcpt ADDR]...] FILE...`: runs the engine on each message N times,
// exactly as `process` does (parse, Process, apply edits), and prints the
// throughput: inbound verification by default, outbound signing with
// --outbound. Numbers, not assertions: see docs/performance.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/clock.h"
#include "cli/commands.h"
#include "engine/processor.h"
#include "engine/runtime.h"

namespace smime {

int BenchCommand(const std::string& config_path, const std::vector<std::string>& args) {
  for (const std::string& a : args)  // the store's cost instead (cli/store_bench.cc)
    if (a == "--store") return StoreBenchCommand(config_path, args);
  long n = 1000;
  std::unique_ptr<Clock> clock = std::make_unique<SystemClock>();
  std::vector<std::string> files;
  Direction direction = Direction::kInbound;
  std::string login;
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
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty() || n <= 0) {
    std::fprintf(stderr,
                 "smimectl: usage: smimectl bench [-n N] [--now EPOCH] [--outbound --sasl-user "
                 "LOGIN [--rcpt ADDR]...] FILE...\n");
    return kExitUsage;
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
    const std::string raw = ss.str();
    std::string verdict;
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      Transaction tx;
      tx.direction = direction;
      tx.sasl_user = login;
      tx.rcpts = rcpts;
      ParseRawMessage(raw, &tx);
      Outcome o = Process(*rt, tx, *clock);
      ApplyEdits(o, &tx);
      if (direction == Direction::kInbound) {
        verdict = std::string("verdict=") + AuthResultName(o.verdict);
      } else {
        size_t at = o.fields.find("action=");
        verdict =
            at == std::string::npos ? "action=?" : o.fields.substr(at, o.fields.find(',', at) - at);
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %ld runs, %zu bytes, %s, %.0f messages/s, %.1f us/message\n", f.c_str(), n,
                raw.size(), verdict.c_str(), n / secs, secs * 1e6 / n);
  }
  return kExitOk;
}

}  // namespace smime
