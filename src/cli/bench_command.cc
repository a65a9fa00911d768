// cli/bench_command: `smimectl bench [-n N] [--now EPOCH] FILE...`: runs
// the engine on each message N times, exactly as `process` does (parse,
// Process, apply edits), and prints the throughput. Numbers, not
// assertions: see docs/performance.md.
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
  long n = 1000;
  std::unique_ptr<Clock> clock = std::make_unique<SystemClock>();
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-n" && i + 1 < args.size()) {
      n = std::strtol(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--now" && i + 1 < args.size()) {
      clock = std::make_unique<FixedClock>(std::strtoll(args[++i].c_str(), nullptr, 10));
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty() || n <= 0) {
    std::fprintf(stderr, "smimectl: usage: smimectl bench [-n N] [--now EPOCH] FILE...\n");
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
      tx.direction = Direction::kInbound;
      ParseRawMessage(raw, &tx);
      Outcome o = Process(*rt, tx, *clock);
      ApplyEdits(o, &tx);
      verdict = AuthResultName(o.verdict);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %ld runs, %zu bytes, verdict=%s, %.0f messages/s, %.1f us/message\n",
                f.c_str(), n, raw.size(), verdict.c_str(), n / secs, secs * 1e6 / n);
  }
  return kExitOk;
}

}  // namespace smime
