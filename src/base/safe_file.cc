// base/safe_file: see safe_file.h.
#include "base/safe_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace smime {

namespace {

constexpr uid_t kNoAccount = static_cast<uid_t>(-1);
std::atomic<uid_t> g_service_uid{kNoAccount};

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string OwnerAndMode(const struct stat& st) {
  return "(owner " + OwnerName(st.st_uid) + ", mode " + ModeText(st.st_mode) + ")";
}

Status Errno(const std::string& what, const std::string& path, int err) {
  std::string m = what + " " + path + ": " + std::strerror(err);
  return err == ENOENT ? Status::NotFound(std::move(m)) : Status::Io(std::move(m));
}

// O_NOFOLLOW reports a symbolic link as ELOOP (Linux, BSD) or EMLINK (some BSDs).
bool IsLinkRefusal(int err) { return err == ELOOP || err == EMLINK; }

Status LinkRefused(const std::string& path) {
  return Status::Config("refusing " + path +
                        ": a symbolic link (name the file itself; links are never followed "
                        "here, see docs/SECURITY.md)");
}

// "" when the open file st may be used as use; else the refusal.
std::string Judge(const std::string& path, const struct stat& st, FileUse use) {
  if (!S_ISREG(st.st_mode)) return "refusing " + path + ": not a regular file";
  if (st.st_nlink != 1)
    return "refusing " + path + " " + OwnerAndMode(st) + ": it has " + std::to_string(st.st_nlink) +
           " hard links (a link could point at another file)";
  if (use == FileUse::kSecret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return "refusing " + path + " " + OwnerAndMode(st) +
           ": a private key or passphrase must not be group- or world-accessible; chmod 600 "
           "and chown it to the service user";
  if (!TrustedOwner(st.st_uid))
    return "refusing " + path + " " + OwnerAndMode(st) +
           ": owned by an account other than root or the service user";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return "refusing " + path + " " + OwnerAndMode(st) +
           ": group- or world-writable; chmod go-w it";
  return "";
}

// Opens path (O_NOFOLLOW) with flags and judges the descriptor.
Status OpenJudged(int dirfd, const std::string& shown, const char* name, int flags, FileUse use,
                  UniqueFd* out) {
  UniqueFd fd(::openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (IsLinkRefusal(err)) return LinkRefused(shown);
    return Errno("cannot read", shown, err);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("cannot stat", shown, errno);
  std::string problem = Judge(shown, st, use);
  if (!problem.empty()) return Status::Config(problem);
  // O_NONBLOCK only kept a FIFO from blocking the open; reads are plain.
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  *out = std::move(fd);
  return Status::Ok();
}

Status ReadAll(int fd, const std::string& path, std::string* out) {
  out->clear();
  // Room for the whole file up front: a string that grows frees its old
  // buffer unwiped, which would leave copies of a secret behind.
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out->reserve(static_cast<size_t>(st.st_size) + 1);
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      OPENSSL_cleanse(buf, sizeof buf);
      return Errno("cannot read", path, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return Status::Ok();
}

bool WriteAll(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void SplitPath(const std::string& path, std::string* dir, std::string* name) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    *dir = ".";
    *name = path;
  } else {
    *dir = slash == 0 ? "/" : path.substr(0, slash);
    *name = path.substr(slash + 1);
  }
}

// The owner of the folder holding dir (kNoAccount when it cannot be told).
uid_t ParentOwner(const std::string& dir) {
  std::string parent, name;
  SplitPath(dir, &parent, &name);
  UniqueFd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  return fd.valid() && ::fstat(fd.get(), &st) == 0 ? st.st_uid : kNoAccount;
}

}  // namespace

void GiveToService(int fd, uid_t folder_owner) {
  const uid_t service = g_service_uid;
  if (::geteuid() != 0 || service == kNoAccount || folder_owner != service) return;
  if (::fchown(fd, service, static_cast<gid_t>(-1)) != 0) return;  // best effort: root keeps it
}

void SetServiceAccount(uid_t uid) { g_service_uid = uid; }
bool SetServiceAccountByName(const std::string& user) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found) return false;
  SetServiceAccount(found->pw_uid);
  return true;
}

void ClearServiceAccount() { g_service_uid = kNoAccount; }

bool TrustedOwner(uid_t uid) {
  const uid_t service = g_service_uid;
  return uid == 0 || uid == ::geteuid() || (service != kNoAccount && uid == service);
}

std::string OwnerName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

bool UniqueFd::Close() { return fd_ < 0 || ::close(release()) == 0; }

Status OpenForReading(const std::string& path, FileUse use, UniqueFd* out) {
  return OpenJudged(AT_FDCWD, path, path.c_str(), O_RDONLY, use, out);
}

Status ReadCheckedFile(const std::string& path, FileUse use, std::string* out) {
  UniqueFd fd;
  Status st = OpenForReading(path, use, &fd);
  if (!st.ok()) return st;
  return ReadAll(fd.get(), path, out);
}

Status ReadSecretFile(const std::string& path, std::string* out) {
  return ReadCheckedFile(path, FileUse::kSecret, out);
}

Status ReadSecretLine(const std::string& path, std::string* line) {
  Status st = ReadSecretFile(path, line);
  if (!st.ok()) return st;
  const size_t nl = line->find_first_of("\r\n");
  if (nl != std::string::npos) {
    OPENSSL_cleanse(&(*line)[nl], line->size() - nl);
    line->resize(nl);
  }
  return Status::Ok();
}

Status CreateNewFile(const std::string& path, mode_t mode, UniqueFd* out) {
  // Created 0600 whatever mode asks, then set exactly: the umask cannot
  // widen or narrow it, and nobody else can open it in between.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Errno("cannot create", path, errno);
  if (::fchmod(fd.get(), mode) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return Errno("cannot set the mode of", path, err);
  }
  *out = std::move(fd);
  return Status::Ok();
}

Status OpenStateDir(const std::string& dir, bool follow_link, bool create, UniqueFd* out) {
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_link ? 0 : O_NOFOLLOW);
  UniqueFd fd(::open(dir.c_str(), flags));
  bool created = false;
  if (!fd.valid() && errno == ENOENT && create) {
    created = ::mkdir(dir.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) return Errno("cannot create folder", dir, errno);
    fd = UniqueFd(::open(dir.c_str(), flags));
    if (created && fd.valid()) GiveToService(fd.get(), ParentOwner(dir));
  }
  if (!fd.valid()) {
    const int err = errno;
    if (!follow_link && (IsLinkRefusal(err) || err == ENOTDIR)) {
      // ENOTDIR: O_NOFOLLOW|O_DIRECTORY on a link gives it on some kernels.
      return Status::Config("refusing folder " + dir +
                            ": a symbolic link or not a folder (links are never followed here)");
    }
    return Errno("cannot open folder", dir, err);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("cannot stat", dir, errno);
  if (!TrustedOwner(st.st_uid))
    return Status::Config("refusing folder " + dir + " " + OwnerAndMode(st) +
                          ": owned by an account other than root or the service user");
  if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
    return Status::Config("refusing folder " + dir + " " + OwnerAndMode(st) +
                          ": world-writable without the sticky bit (anyone could plant files "
                          "there); chmod 700 it");
  *out = std::move(fd);
  return Status::Ok();
}

Status ReadStateFileAt(int dirfd, const std::string& dir, const std::string& name,
                       std::string* out) {
  UniqueFd fd;
  Status st = OpenJudged(dirfd, dir + "/" + name, name.c_str(), O_RDONLY, FileUse::kState, &fd);
  if (!st.ok()) return st;
  return ReadAll(fd.get(), dir + "/" + name, out);
}

Status ReplaceFileAt(int dirfd, const std::string& dir, const std::string& name,
                     const std::string& data, mode_t mode) {
  std::string tmp;
  UniqueFd fd;
  // A fresh random name per writer: threads and processes may race, and
  // O_EXCL|O_NOFOLLOW means nothing planted under that name is used.
  for (int attempt = 0; attempt < 8 && !fd.valid(); ++attempt) {
    unsigned char r[8];
    if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r))
      return Errno("cannot name a temporary file in", dir, errno);
    char hex[17];
    for (size_t i = 0; i < sizeof r; ++i) std::snprintf(hex + 2 * i, 3, "%02x", r[i]);
    tmp = "." + name + ".tmp." + hex;
    fd = UniqueFd(
        ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid() && errno != EEXIST) break;
  }
  if (!fd.valid()) return Errno("cannot create a temporary file in", dir, errno);
  struct stat folder;
  if (::fstat(dirfd, &folder) == 0) GiveToService(fd.get(), folder.st_uid);
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return Errno(what, dir + "/" + tmp, err);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set the mode of");
  if (!WriteAll(fd.get(), data)) return fail("cannot write");
  if (::fsync(fd.get()) != 0) return fail("cannot write");
  if (!fd.Close()) return fail("cannot write");
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return Errno("cannot replace", dir + "/" + name, err);
  }
  return Status::Ok();
}

Status ReplaceFile(const std::string& path, const std::string& data, mode_t mode) {
  std::string dir, name;
  SplitPath(path, &dir, &name);
  UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) return Errno("cannot open folder", dir, errno);
  return ReplaceFileAt(dirfd.get(), dir, name, data, mode);
}

namespace {

// Opens path itself, never what it links to, and fstats it. O_PATH: nothing
// is opened for reading, so closing this descriptor does not drop the POSIX
// locks SQLite may hold on the file in this process (a reload opens the
// store while the old connection still works); with O_NOFOLLOW a symbolic
// link is opened as itself, shows in fstat and is refused. A missing file
// is OK with fd left invalid.
Status OpenItself(const std::string& path, UniqueFd* fd, struct stat* st) {
  *fd = UniqueFd(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd->valid()) {
    if (errno == ENOENT) return Status::Ok();
    return Errno("cannot open", path, errno);
  }
  if (::fstat(fd->get(), st) != 0) return Errno("cannot stat", path, errno);
  if (S_ISLNK(st->st_mode)) return LinkRefused(path);
  return Status::Ok();
}

}  // namespace

Status CheckStateFile(const std::string& path, bool* exists) {
  *exists = false;
  UniqueFd fd;
  struct stat st;
  Status opened = OpenItself(path, &fd, &st);
  if (!opened.ok() || !fd.valid()) return opened;
  std::string problem = Judge(path, st, FileUse::kState);
  if (!problem.empty()) return Status::Config(problem);
  *exists = true;
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    // fchmod does not take an O_PATH descriptor; its /proc name is the
    // very file opened, not the path again.
    const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    if (::chmod(self.c_str(), st.st_mode & 0700) != 0)
      return Errno("cannot remove group and world access from", path, errno);
  }
  return Status::Ok();
}

Status ChownOpened(const std::string& path, mode_t type, uid_t uid, gid_t gid, int mode,
                   bool* exists) {
  *exists = false;
  UniqueFd fd;
  struct stat st;
  Status opened = OpenItself(path, &fd, &st);
  if (!opened.ok() || !fd.valid()) return opened;
  if ((st.st_mode & S_IFMT) != type)
    return Status::Config("refusing " + path + ": not a " +
                          (type == S_IFSOCK ? "socket" : "regular file"));
  if (type == S_IFREG && st.st_nlink != 1)
    return Status::Config("refusing " + path + " " + OwnerAndMode(st) + ": it has " +
                          std::to_string(st.st_nlink) + " hard links");
  *exists = true;
  if (::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0)
    return Errno("cannot change the owner of", path, errno);
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (mode >= 0 && ::chmod(self.c_str(), static_cast<mode_t>(mode)) != 0)
    return Errno("cannot change the mode of", path, errno);
  return Status::Ok();
}

}  // namespace smime
