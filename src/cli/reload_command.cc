// cli/reload_command: `smimectl reload`, SIGUSR1 to the running daemon and
// its answer; `smimectl status`, whether it runs and its counters.
//
// status: the daemon's pid (from the pid file, checked with signal 0), the
// last reload result, and metrics_file as the daemon last wrote it. Exit 0
// running, 69 not running.
//
// The daemon's pid comes from its pid file (pid_file, or
// state_dir/smime-milter.pid); after each reload the daemon replaces
// PID_FILE.reload with "GENERATION ok" or "GENERATION failed REASON". The
// command signals the daemon and waits (at most --wait SECONDS, default 60)
// for the generation to change. Exit: 0 reloaded, 1 the daemon refused the
// new configuration (it keeps the running one; the reason is printed), 69
// no running daemon (no pid file, stale pid, not allowed to signal it), 75
// no answer in time, 64 usage, 78 the configuration does not parse (the
// daemon would refuse it too; nothing is signalled).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "config/config.h"

namespace smime {

namespace {

constexpr int kExitRefused = 1;
constexpr int kExitUnavailable = 69;

// The first line of path ("" when it cannot be read).
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// GENERATION of a status line, -1 when there is none.
long GenerationOf(const std::string& line) {
  char* end = nullptr;
  errno = 0;
  const long g = std::strtol(line.c_str(), &end, 10);
  return end == line.c_str() || errno != 0 || g < 0 ? -1 : g;
}

// The pid in the daemon's pid file, 0 when it holds none (or 0, 1, junk).
long PidIn(const std::string& pid_path) {
  const std::string text = FirstLine(pid_path);
  char* end = nullptr;
  const long pid = std::strtol(text.c_str(), &end, 10);
  return text.empty() || *end != '\0' || pid <= 1 ? 0 : pid;
}

// Loads the configuration for reload and status; false after saying why.
bool LoadConfig(const std::string& path, Config* config) {
  Status st = config->Load(path);
  if (st.ok()) return true;
  std::fprintf(stderr, "smimectl: fatal: %s\n", st.message().c_str());
  return false;
}

}  // namespace

int ReloadCommand(const std::string& config_path, const std::vector<std::string>& args) {
  long wait_s = 60;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--wait" && i + 1 < args.size()) {
      char* end = nullptr;
      wait_s = std::strtol(args[++i].c_str(), &end, 10);
      if (*end != '\0' || wait_s < 1 || wait_s > 3600) {
        std::fprintf(stderr, "smimectl: reload: --wait needs 1..3600 seconds\n");
        return kExitUsage;
      }
    } else {
      std::fprintf(stderr, "smimectl: usage: reload [--wait SECONDS]\n");
      return kExitUsage;
    }
  }
  Config config;
  if (!LoadConfig(config_path, &config)) return kExitConfig;
  const std::string pid_path = PidFilePath(config);
  const std::string status_path = pid_path + ".reload";
  const long pid = PidIn(pid_path);
  if (pid == 0) {
    std::fprintf(stderr, "smimectl: reload: no daemon: cannot read a pid from %s\n",
                 pid_path.c_str());
    return kExitUnavailable;
  }
  const long before = GenerationOf(FirstLine(status_path));
  if (kill(static_cast<pid_t>(pid), SIGUSR1) != 0) {
    std::fprintf(stderr, "smimectl: reload: cannot signal pid %ld (from %s): %s\n", pid,
                 pid_path.c_str(),
                 errno == ESRCH ? "no such process (stale pid file?)" : std::strerror(errno));
    return kExitUnavailable;
  }
  // Bounded wait for the daemon's answer: polled, the file is replaced
  // atomically so a read sees the old line or the new one.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string line = FirstLine(status_path);
    const long now = GenerationOf(line);
    if (now >= 0 && now != before) {
      const size_t sp = line.find(' ');
      const std::string result = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (result == "ok") {
        std::printf("reload: ok (pid %ld, generation %ld)\n", pid, now);
        return kExitOk;
      }
      const std::string reason = result.compare(0, 7, "failed ") == 0 ? result.substr(7) : result;
      std::fprintf(stderr,
                   "smimectl: reload: failed, the daemon keeps the running configuration: %s\n",
                   reason.c_str());
      return kExitRefused;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "smimectl: reload: no answer from pid %ld within %ld s (%s unchanged)\n",
               pid, wait_s, status_path.c_str());
  return kExitTempFail;
}

int StatusCommand(const std::string& config_path, const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "smimectl: usage: status\n");
    return kExitUsage;
  }
  Config config;
  if (!LoadConfig(config_path, &config)) return kExitConfig;
  const std::string pid_path = PidFilePath(config);
  const long pid = PidIn(pid_path);
  // EPERM: it exists but belongs to someone else, still running.
  const bool running = pid != 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  if (running)
    std::printf("daemon: running, pid %ld (%s)\n", pid, pid_path.c_str());
  else
    std::printf("daemon: not running (no live pid in %s)\n", pid_path.c_str());
  const std::string reload = FirstLine(pid_path + ".reload");
  if (running && !reload.empty()) std::printf("last reload: generation %s\n", reload.c_str());
  const std::string& metrics = config.Str("metrics_file");
  if (metrics.empty()) {
    std::printf("metrics: metrics_file is not set\n");
  } else {
    std::ifstream in(metrics);
    if (!in) {
      std::printf("metrics: cannot read %s: %s\n", metrics.c_str(), std::strerror(errno));
    } else {
      std::printf("metrics (%s):\n", metrics.c_str());
      std::string line;
      while (std::getline(in, line))
        if (!line.empty() && line[0] != '#') std::printf("  %s\n", line.c_str());
    }
  }
  return running ? kExitOk : kExitUnavailable;
}

}  // namespace smime
