// milter/daemon_main: the smime-milter daemon.
//
//   smime-milter -c FILE [-f] [-e] [-n]   |   smime-milter --version
//
// Start-up is strict: configuration, trust anchors and the socket are
// checked and opened first (as root where needed), then the daemon drops to
// the `user` account and refuses to serve as root. -n checks everything
// (as root: once more as `user`, in a child) and exits. Running, it keeps
// pid_file and PID_FILE.reload (the last reload's generation and result,
// for smimectl reload), and writes metrics_file every metrics_interval.
// SIGUSR1 reloads: a new Runtime is built and swapped in only if it loaded
// cleanly; in-flight messages finish on the old one. libmilter owns HUP,
// TERM and INT. Exit status: 0 normal stop, 78 configuration error, 71
// could not open the socket or drop privileges, 64 usage.
#include <dirent.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/defaults.h"
#include "base/log.h"
#include "base/safe_file.h"
#include "config/config.h"
#include "engine/cert_expiry.h"
#include "engine/runtime.h"
#include "milter/callbacks.h"
#include "milter/metrics.h"
#include "milter/runtime_holder.h"

namespace smime {
namespace {

constexpr int kExitUsage = 64;
constexpr int kExitOsErr = 71;
constexpr int kExitConfig = 78;
// The -n child's "all good" (0 would also be a child that never got to say).
constexpr int kChildOk = 100;

Status LoadAll(const std::string& path, std::shared_ptr<const Runtime>* out) {
  Config config;
  Status st = config.Load(path);
  if (!st.ok()) return st;
  // Files of the service user (state_dir, keys) are trusted like root's
  // (base/safe_file.h), also while checking as root.
  SetServiceAccountByName(config.Str("user"));
  std::unique_ptr<Runtime> rt;
  st = BuildRuntime(config, &rt);
  if (!st.ok()) return st;
  *out = std::move(rt);
  return Status::Ok();
}

// Path of a unix-domain milter socket ("" for inet sockets).
std::string UnixSocketPath(const std::string& spec) {
  for (const char* prefix : {"unix:", "local:"})
    if (spec.rfind(prefix, 0) == 0) return spec.substr(std::strlen(prefix));
  if (!spec.empty() && spec[0] == '/') return spec;
  return "";
}

// libmilter never sets TCP_NODELAY, and Nagle plus delayed ACK costs ~40 ms
// per message on TCP. Accepted sockets inherit the option from the
// listening socket, which we find among our descriptors.
void SetNoDelayOnListeners() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), closedir);
  if (!dir) return;
  while (struct dirent* d = readdir(dir.get())) {
    int fd = std::atoi(d->d_name);
    if (fd <= 2) continue;
    int listening = 0, type = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    len = sizeof type;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) continue;
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) continue;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

Status DropPrivileges(const struct passwd& pw) {
  if (geteuid() == 0) {
    if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 || setuid(pw.pw_uid) != 0)
      return Status::Io(std::string("cannot switch to user ") + pw.pw_name + ": " +
                        std::strerror(errno));
  }
  if (geteuid() == 0 || getuid() == 0)
    return Status::Config("refusing to serve as root: set user to an unprivileged account");
  return Status::Ok();
}

// Start-up and reload warnings of a runtime (configuration, domain
// identities) and every identity, trust anchor and added recipient
// certificate within identity_expiry_warning days of expiry
// (engine/cert_expiry, docs/logging.md "Daemon events").
void LogIdentityWarnings(const Runtime& rt, LogSink* log) {
  LogRuntimeWarnings(rt, std::time(nullptr), log);
}

// "warning: EVENT: path=PATH, result=RESULT[, effect=EFFECT], detail=..."
// for a file the daemon could not write or hand over (docs/logging.md).
void FileWarning(LogSink* log, const char* event, const std::string& path, const char* result,
                 const char* effect, const std::string& detail) {
  std::string f;
  AppendField(&f, "path", path);
  AppendField(&f, "result", result);
  if (effect) AppendField(&f, "effect", effect);
  if (!detail.empty()) AppendField(&f, "detail", detail);
  log->Write(Severity::kWarning, std::string(event) + ": " + f);
}

// "error: EVENT: result=failed, reason=internal": a background task's
// iteration threw; the next one runs as planned.
void InternalError(LogSink* log, const char* event) {
  std::string f;
  AppendField(&f, "result", "failed");
  AppendField(&f, "reason", "internal");
  log->Write(Severity::kError, std::string(event) + ": " + f);
}

// The reload status beside the pid file, for smimectl reload: one line,
// "GENERATION ok" or "GENERATION failed REASON" (generation 0: started),
// replaced atomically. A failure to write is logged, never fatal.
void WriteReloadStatus(const std::string& path, long generation, const std::string& error,
                       LogSink* log) {
  if (path.empty()) return;
  std::string line = std::to_string(generation) + (error.empty() ? " ok" : " failed ");
  for (char c : error) line.push_back(c == '\n' ? ' ' : c);
  Status st = ReplaceFile(path, line + "\n", 0644);
  if (!st.ok())
    FileWarning(log, "reload_status", path, "not-written", "smimectl-reload-unanswered",
                st.message());
}

// The daemon's own threads beside libmilter's: reloads on SIGUSR1 and the
// daily expiry warnings. Each iteration catches everything (a thread that
// dies of an exception would take the process with it), and Stop() ends and
// joins both before the holder and the log they use are destroyed.
// Thread-safe.
class BackgroundThreads {
 public:
  BackgroundThreads(RuntimeHolder* holder, LogSink* log, Metrics* metrics, std::string path,
                    std::string status_path)
      : holder_(holder),
        log_(log),
        metrics_(metrics),
        path_(std::move(path)),
        status_path_(std::move(status_path)) {
    reload_ = std::thread([this] { ReloadLoop(); });
    daily_ = std::thread([this] { DailyLoop(); });
    metrics_thread_ = std::thread([this] { MetricsLoop(); });
  }
  ~BackgroundThreads() { Stop(); }
  BackgroundThreads(const BackgroundThreads&) = delete;
  BackgroundThreads& operator=(const BackgroundThreads&) = delete;

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    // SIGUSR1 is blocked everywhere and waited for only by the reload
    // thread: sent to it, it wakes sigwait().
    pthread_kill(reload_.native_handle(), SIGUSR1);
    reload_.join();
    daily_.join();
    metrics_thread_.join();
  }

 private:
  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  void ReloadLoop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (Stopping()) return;
      std::string error;
      const char* reason = "config";
      try {
        error = ReloadOnce();
      } catch (const std::exception& e) {
        error = std::string("internal error: ") + e.what();
        reason = "internal";
      } catch (...) {
        error = "internal error";
        reason = "internal";
      }
      if (!error.empty()) {
        // docs/logging.md: "reload: result=failed, ..."; the running
        // configuration stays.
        std::string fields;
        AppendField(&fields, "result", "failed");
        AppendField(&fields, "reason", reason);
        AppendField(&fields, "config", path_);
        AppendField(&fields, "action", "kept-running");
        AppendOriginAndDetail(&fields, error);
        log_->Write(Severity::kError, "reload: " + fields);
      }
      metrics_->CountReload(error.empty());
      WriteReloadStatus(status_path_, ++generation_, error, log_);
    }
  }

  // "" when the new configuration is in use, else why not.
  std::string ReloadOnce() {
    std::shared_ptr<const Runtime> fresh;
    Status st = LoadAll(path_, &fresh);
    if (!st.ok()) return st.message();
    std::shared_ptr<const Runtime> old = holder_->Get();
    if (old && old->config.Str("socket") != fresh->config.Str("socket")) {
      std::string f;
      AppendField(&f, "config", path_);
      AppendField(&f, "socket", fresh->config.Str("socket"));
      AppendField(&f, "socket_in_use", old->config.Str("socket"));
      AppendField(&f, "effect", "socket-changes-after-restart");
      log_->Write(Severity::kWarning, "reload: " + f);
    }
    holder_->Set(fresh);
    std::string fields;
    AppendField(&fields, "version", PACKAGE_VERSION);
    AppendField(&fields, "config", path_);
    AppendField(&fields, "result", "ok");
    log_->Write(Severity::kInfo, "reload: " + fields);
    LogIdentityWarnings(*fresh, log_);
    return "";
  }

  // Writes metrics_file (when set) every metrics_interval seconds, both
  // taken from the runtime in use, and once more when stopping.
  void MetricsLoop() {
    std::string failed_path;  // warn once per path, not every interval
    for (;;) {
      long interval = 60;
      try {
        interval = WriteMetrics(&failed_path);
      } catch (...) {
        InternalError(log_, "metrics");
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::seconds(interval), [this] { return stop_; })) break;
    }
    try {
      WriteMetrics(&failed_path);  // the final counts
    } catch (...) {
    }
  }

  // Returns the interval to wait until the next write.
  long WriteMetrics(std::string* failed_path) {
    std::shared_ptr<const Runtime> rt = holder_->Get();
    if (!rt) return 60;
    const std::string file = rt->config.Str("metrics_file");
    if (!file.empty()) {
      Status st = ReplaceFile(file, metrics_->Render(rt.get(), std::time(nullptr)), 0644);
      if (!st.ok() && *failed_path != file)
        FileWarning(log_, "metrics", file, "not-written", nullptr, st.message());
      *failed_path = st.ok() ? "" : file;
    }
    return static_cast<long>(rt->config.Int("metrics_interval"));
  }

  // Repeats the expiry warnings once a day for as long as the daemon runs.
  void DailyLoop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, std::chrono::hours(24), [this] { return stop_; })) return;
      }
      try {
        std::shared_ptr<const Runtime> rt = holder_->Get();
        if (!rt) continue;
        LogExpiryWarnings(*rt, std::time(nullptr), log_);
      } catch (...) {
        InternalError(log_, "expiry");
      }
    }
  }

  RuntimeHolder* const holder_;
  LogSink* const log_;
  Metrics* const metrics_;
  const std::string path_;
  const std::string status_path_;
  long generation_ = 0;  // reload thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread reload_;
  std::thread daily_;
  std::thread metrics_thread_;
};

// What the running daemon meets, checked as the service user it runs as
// (the unit starts it as that user; reloads always run as it): every file
// the configuration names is loaded again as that user in a child process
// (a key only root can read fails here, not at the next reload), and the
// socket's folder and state_dir must be writable by it. Returns 0 or the
// exit status to give.
int CheckAsServiceUser(const std::string& path, const Runtime& rt, const struct passwd& pw) {
  const std::string unix_path = UnixSocketPath(rt.config.Str("socket"));
  const std::string socket_dir =
      unix_path.empty() ? "" : unix_path.substr(0, std::max<size_t>(1, unix_path.rfind('/')));
  const std::string state_dir = rt.config.Str("state_dir");
  // A missing socket folder is fatal. One the service user cannot write is
  // fatal when it is the service user who checks (the unit's ExecStartPre:
  // the daemon will start as that user), a warning when root checks (a
  // daemon started as root opens the socket before it drops privileges).
  // state_dir is a warning, as at start-up (only large messages need it).
  const bool as_root = geteuid() == 0;
  auto check_folders = [&]() -> int {
    int rc = 0;
    struct stat sb;
    if (!socket_dir.empty()) {
      if (stat(socket_dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        std::fprintf(stderr, "smime-milter: fatal: %s: socket: folder %s does not exist\n",
                     rt.config.Get("socket").origin.c_str(), socket_dir.c_str());
        rc = kExitConfig;
      } else if (access(socket_dir.c_str(), W_OK | X_OK) != 0 && !as_root) {
        std::fprintf(stderr, "smime-milter: fatal: %s: socket: folder %s is not writable by %s\n",
                     rt.config.Get("socket").origin.c_str(), socket_dir.c_str(), pw.pw_name);
        rc = kExitConfig;
      } else if (access(socket_dir.c_str(), W_OK | X_OK) != 0) {
        // Warnings in the daemon's log shape (docs/logging.md, event socket).
        std::string f;
        AppendField(&f, "path", socket_dir);
        AppendField(&f, "user", pw.pw_name);
        AppendField(&f, "result", "not-writable");
        AppendField(&f, "effect", "start-as-root-only");
        AppendOriginAndDetail(&f, rt.config.Get("socket").origin +
                                      ": the socket folder is not writable by the service user");
        StderrLog("smime-milter").Write(Severity::kWarning, "socket: " + f);
      }
    }
    if (access(state_dir.c_str(), W_OK | X_OK) != 0) {
      StderrLog warn("smime-milter");
      FileWarning(&warn, "state", state_dir, "not-writable", "large-messages-tempfailed",
                  std::string("state_dir is not writable by ") + pw.pw_name);
    }
    return rc;
  };
  if (geteuid() != 0) return check_folders();
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "smime-milter: fatal: cannot fork: %s\n", std::strerror(errno));
    return kExitOsErr;
  }
  if (child == 0) {
    // The child's status is its return from Main (no exit() on our side).
    Status st = DropPrivileges(pw);
    if (!st.ok()) {
      std::fprintf(stderr, "smime-milter: fatal: %s\n", st.message().c_str());
      return kExitOsErr;
    }
    std::shared_ptr<const Runtime> as_user;
    st = LoadAll(path, &as_user);
    if (!st.ok()) {
      std::fprintf(stderr, "smime-milter: fatal: as user %s: %s\n", pw.pw_name,
                   st.message().c_str());
      return kExitConfig;
    }
    int rc = check_folders();
    std::fflush(nullptr);
    return rc == 0 ? kChildOk : rc;
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kChildOk) return 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitOsErr;
}

int Usage() {
  std::fprintf(stderr,
               "usage: smime-milter [-c FILE] [-f] [-e] [-n] | --version\n"
               "  -c FILE  configuration (default " SMIME_DEFAULT_CONFIG
               ")\n"
               "  -f       stay in the foreground (for systemd)\n"
               "  -e       copy every log line to stderr (tests, containers)\n"
               "  -n       check what the daemon will meet (as its user), then exit\n"
               "  --version  print the version\n");
  return kExitUsage;
}

// A start-up refusal: "fatal: starting: result=refused, config=...,
// origin=FILE:LINE, detail=..." (docs/logging.md), to the log once it is
// open, else to stderr (systemd's journal). `-n` prints msg as it is.
int Fatal(LogSink* log, const std::string& path, const std::string& msg, int code) {
  std::string fields;
  AppendField(&fields, "result", "refused");
  AppendField(&fields, "config", path);
  AppendOriginAndDetail(&fields, msg);
  if (log)
    log->Write(Severity::kFatal, "starting: " + fields);
  else
    std::fprintf(stderr, "smime-milter: fatal: starting: %s\n", fields.c_str());
  return code;
}

int Main(int argc, char** argv) {
  std::string path = SMIME_DEFAULT_CONFIG;
  bool foreground = false, check_only = false, to_stderr = false;
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("smime-milter %s\n", PACKAGE_VERSION);
    return 0;
  }
  int opt;
  while ((opt = getopt(argc, argv, "c:fenh")) != -1) {
    switch (opt) {
      case 'c': path = optarg; break;
      case 'f': foreground = true; break;
      case 'e': to_stderr = true; break;
      case 'n': check_only = true; break;
      default: return Usage();
    }
  }
  if (optind != argc) return Usage();

  // Before the log is open: -n (a person at a terminal) gets the message as
  // it is, a start-up the one-line shape.
  auto refuse = [&](const std::string& msg) {
    if (!check_only) return Fatal(nullptr, path, msg, kExitConfig);
    std::fprintf(stderr, "smime-milter: fatal: %s\n", msg.c_str());
    return kExitConfig;
  };
  std::shared_ptr<const Runtime> rt;
  Status st = LoadAll(path, &rt);
  if (!st.ok()) return refuse(st.message());
  const Config& cfg = rt->config;
  const std::string user = cfg.Str("user");
  struct passwd* pwp = getpwnam(user.c_str());
  if (!pwp) return refuse(cfg.Get("user").origin + ": user: no such account '" + user + "'");
  struct passwd pw = *pwp;
  if (pw.pw_uid == 0) return refuse(cfg.Get("user").origin + ": user: refusing to serve as root");
  if (check_only) {
    if (int rc = CheckAsServiceUser(path, *rt, pw); rc != 0) return rc;
    std::printf(
        "%s: ok (%d trust anchors, %zu signing identities, authserv_id %s, socket %s, "
        "user %s)\n",
        path.c_str(), rt->trust.anchor_count(), rt->identities.size(), rt->authserv_id.c_str(),
        cfg.Str("socket").c_str(), user.c_str());
    StderrLog warn("smime-milter");
    LogIdentityWarnings(*rt, &warn);
    return 0;
  }

  SyslogLog log(to_stderr);
  // Block every signal that a dedicated thread waits for (SIGUSR1: our
  // reload thread; HUP, TERM, INT, PIPE: libmilter's) before any thread
  // starts, so that none is delivered to a thread that would die of it.
  sigset_t waited;
  sigemptyset(&waited);
  for (int sig : {SIGUSR1, SIGHUP, SIGTERM, SIGINT, SIGPIPE}) sigaddset(&waited, sig);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);

  const std::string socket = cfg.Str("socket");
  struct smfiDesc desc = MilterDescription();
  if (smfi_setconn(const_cast<char*>(socket.c_str())) != MI_SUCCESS ||
      smfi_register(desc) != MI_SUCCESS)
    return Fatal(&log, path, cfg.Get("socket").origin + ": socket: bad value '" + socket + "'",
                 kExitConfig);
  if (smfi_opensocket(true) != MI_SUCCESS)
    return Fatal(&log, path, "cannot open milter socket " + socket + ": " + std::strerror(errno),
                 kExitOsErr);
  std::string unix_path = UnixSocketPath(socket);
  if (!unix_path.empty()) {
    mode_t mode = static_cast<mode_t>(std::strtol(cfg.Str("socket_mode").c_str(), nullptr, 8));
    // Not root: the socket is already ours and cannot be given away. As
    // root, the socket folder may belong to the service user: change the
    // socket itself, never what a link put in its place points at.
    Status own = Status::Ok();
    if (geteuid() == 0) {
      bool exists = false;
      own = ChownOpened(unix_path, S_IFSOCK, pw.pw_uid, pw.pw_gid, static_cast<int>(mode), &exists);
      if (own.ok() && !exists) own = Status::Io("no socket there");
    } else if (chmod(unix_path.c_str(), mode) != 0) {
      own = Status::Io(std::strerror(errno));
    }
    if (!own.ok())
      return Fatal(&log, path, "cannot set owner/mode of " + unix_path + ": " + own.message(),
                   kExitOsErr);
  }
  SetNoDelayOnListeners();
  // The certificate store was opened (and maybe created) as root; the
  // service user writes to it from now on (harvesting, reloads).
  if (geteuid() == 0)
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      const std::string f = cfg.Str("state_dir") + "/certificates.db" + suffix;
      // state_dir belongs to the service user, who must not be able to point
      // these names at other files (link or hard link) for root to chown;
      // ChownOpened keeps SQLite's POSIX locks (base/safe_file.h).
      bool exists = false;
      Status own = ChownOpened(f, S_IFREG, pw.pw_uid, pw.pw_gid, -1, &exists);
      if (!own.ok())
        FileWarning(&log, "state", f, "not-given-to-user", nullptr, user + ": " + own.message());
    }
  st = DropPrivileges(pw);
  if (!st.ok()) return Fatal(&log, path, st.message(), kExitOsErr);
  if (access(cfg.Str("state_dir").c_str(), W_OK | X_OK) != 0)
    FileWarning(&log, "state", cfg.Str("state_dir"), "not-writable", "large-messages-tempfailed",
                "state_dir is not writable by " + user);
  if (!foreground && daemon(0, 0) != 0)
    return Fatal(&log, path, std::string("cannot detach: ") + std::strerror(errno), kExitOsErr);

  // Written as the service user, after daemon() gave the final pid.
  const std::string pid_path = PidFilePath(cfg);
  const std::string status_path = pid_path + ".reload";
  Status pid_st = ReplaceFile(pid_path, std::to_string(getpid()) + "\n", 0644);
  if (!pid_st.ok())
    FileWarning(&log, "pid_file", pid_path, "not-written", "smimectl-reload-cannot-find-daemon",
                pid_st.message());
  else
    WriteReloadStatus(status_path, 0, "", &log);

  RuntimeHolder holder;
  holder.Set(rt);
  SystemClock clock;
  Metrics metrics;
  SetMilterGlobals({&holder, &log, &clock, &metrics});
  BackgroundThreads background(&holder, &log, &metrics, path, pid_st.ok() ? status_path : "");
  std::string start;
  AppendField(&start, "version", PACKAGE_VERSION);
  AppendField(&start, "config", path);
  AppendField(&start, "socket", socket);
  AppendField(&start, "user", user);
  AppendField(&start, "identities", std::to_string(rt->identities.size()));
  AppendField(&start, "decryption_keys", std::to_string(rt->decryption_keys.size()));
  log.Write(Severity::kInfo, "starting: " + start);
  LogIdentityWarnings(*rt, &log);
  rt.reset();
  int rc = smfi_main();
  background.Stop();
  if (pid_st.ok()) {
    unlink(pid_path.c_str());
    unlink(status_path.c_str());
  }
  std::string stop;
  AppendField(&stop, "version", PACKAGE_VERSION);
  AppendField(&stop, "config", path);
  if (rc != MI_SUCCESS) AppendField(&stop, "libmilter", "failed");
  log.Write(Severity::kInfo, "stopping: " + stop);
  return rc == MI_SUCCESS ? 0 : kExitOsErr;
}

}  // namespace
}  // namespace smime

int main(int argc, char** argv) {
  // Message-sized buffers are mapped and given back to the system when
  // freed: glibc would otherwise raise this threshold after the first large
  // free and keep later message buffers in the heap (docs/performance.md,
  // "Memory per message").
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return smime::Main(argc, argv);
}
