// milter/body_spool: see body_spool.h.
#include "milter/body_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace smime {

BodySpool::~BodySpool() {
  if (fd_ >= 0) close(fd_);
}

const char* BodySpool::FailureReason() const {
  return errno_ == ENOSPC || errno_ == EDQUOT ? "spool-full" : "spool-failed";
}

Status BodySpool::Append(const char* data, size_t len) {
  size_t keep = 0;
  if (size_ < max_size_) keep = std::min(len, max_size_ - size_);
  size_ += len;
  if (keep == 0) return Status::Ok();
  if (fd_ < 0 && memory_.size() + keep <= memory_limit_) {
    memory_.append(data, keep);
    return Status::Ok();
  }
  if (fd_ < 0) {
    std::string tmpl = dir_ + "/body.XXXXXX";
    std::vector<char> path(tmpl.begin(), tmpl.end());
    path.push_back('\0');
    // mkostemp: O_CREAT|O_EXCL (a name planted in state_dir, link or not, is
    // never opened), mode 0600 whatever the umask.
    fd_ = mkostemp(path.data(), O_CLOEXEC);
    if (fd_ < 0) {
      errno_ = errno;
      return Status::Io("cannot create spool file in " + dir_ + ": " + std::strerror(errno));
    }
    unlink(path.data());
    const std::string pending = std::move(memory_);
    memory_.clear();
    for (size_t off = 0; off < pending.size();) {
      ssize_t n = write(fd_, pending.data() + off, pending.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return WriteError(n);
      off += static_cast<size_t>(n);
    }
    file_size_ = pending.size();
  }
  for (size_t off = 0; off < keep;) {
    ssize_t n = write(fd_, data + off, keep - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return WriteError(n);
    off += static_cast<size_t>(n);
  }
  file_size_ += keep;
  return Status::Ok();
}

Status BodySpool::WriteError(ssize_t n) {
  errno_ = n < 0 ? errno : EIO;  // a write of 0 bytes sets no errno
  return Status::Io(std::string("spool write: ") + std::strerror(errno_));
}

Status BodySpool::Take(std::string* out) {
  if (fd_ < 0) {
    *out = std::move(memory_);
    memory_.clear();
    return Status::Ok();
  }
  out->resize(file_size_);
  for (size_t off = 0; off < file_size_;) {
    ssize_t n = pread(fd_, &(*out)[off], file_size_ - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      errno_ = n < 0 ? errno : EIO;
      return Status::Io(std::string("spool read: ") + std::strerror(errno_));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace smime
