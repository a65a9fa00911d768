// base/spool_buffer: see spool_buffer.h.
#include "base/spool_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace smime {

SpoolBuffer::~SpoolBuffer() {
  if (fd_ >= 0) close(fd_);
}

SpoolBuffer& SpoolBuffer::operator=(SpoolBuffer&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) close(fd_);
  dir_ = std::move(o.dir_);
  prefix_ = o.prefix_;
  spill_ = o.spill_;
  memory_limit_ = o.memory_limit_;
  memory_ = std::move(o.memory_);
  o.memory_.clear();
  fd_ = o.fd_;
  o.fd_ = -1;
  file_size_ = o.file_size_;
  o.file_size_ = 0;
  errno_ = o.errno_;
  failure_ = std::move(o.failure_);
  return *this;
}

const char* SpoolBuffer::FailureReason() const {
  return errno_ == ENOSPC || errno_ == EDQUOT ? "spool-full" : "spool-failed";
}

void SpoolBuffer::UseFileForTest(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  spill_ = true;
}

Status SpoolBuffer::Fail(int err, const std::string& what) const {
  Status st = Status::Io(what + ": " + std::strerror(err));
  if (errno_ == 0) {
    errno_ = err;
    failure_ = st;
  }
  return st;
}

Status SpoolBuffer::WriteAll(const char* data, size_t len) {
  for (size_t off = 0; off < len;) {
    const ssize_t n = write(fd_, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    // A write of 0 bytes sets no errno.
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return Fail(err, "spool write");
    }
    off += static_cast<size_t>(n);
  }
  file_size_ += len;
  return Status::Ok();
}

Status SpoolBuffer::Append(std::string_view data) {
  if (failed()) return failure_;  // a gap must not go unnoticed
  if (data.empty()) return Status::Ok();
  if (fd_ < 0 && (!spill_ || memory_.size() + data.size() <= memory_limit_)) {
    memory_.append(data);
    return Status::Ok();
  }
  if (fd_ < 0) {
    // A file that never has a name (O_TMPFILE: nothing for any crash to
    // leave behind); where the file system cannot, mkostemp (O_CREAT|
    // O_EXCL, mode 0600 whatever the umask) and unlink at once.
    fd_ = open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      const std::string tmpl = dir_ + "/" + prefix_ + ".XXXXXX";
      std::vector<char> path(tmpl.begin(), tmpl.end());
      path.push_back('\0');
      fd_ = mkostemp(path.data(), O_CLOEXEC);
      // A name that stays would keep the body on disk: no body goes there.
      if (fd_ >= 0 && unlink(path.data()) != 0) {
        const int err = errno;
        close(fd_);
        fd_ = -1;
        return Fail(err, "cannot unlink spool file " + std::string(path.data()));
      }
    }
    if (fd_ < 0) {
      const int err = errno;
      return Fail(err, "cannot create spool file in " + dir_);
    }
    std::string pending;
    pending.swap(memory_);
    Status st = WriteAll(pending.data(), pending.size());
    if (!st.ok()) return st;
  }
  return WriteAll(data.data(), data.size());
}

Status SpoolBuffer::ForEachSlice(size_t slice,
                                 const std::function<bool(std::string_view)>& emit) const {
  if (failed()) return failure_;
  if (slice == 0) slice = 1;
  if (fd_ < 0) {
    for (size_t at = 0; at < memory_.size(); at += slice)
      if (!emit(std::string_view(memory_).substr(at, slice))) return Status::Io("stopped");
    return Status::Ok();
  }
  std::string buf(std::min(slice, file_size_), '\0');
  for (size_t off = 0; off < file_size_;) {
    const size_t want = std::min(buf.size(), file_size_ - off);
    const ssize_t n = pread(fd_, &buf[0], want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    // A file that ends before its size: never a shorter body.
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return Fail(err, "spool read");
    }
    off += static_cast<size_t>(n);
    if (!emit(std::string_view(buf.data(), static_cast<size_t>(n)))) return Status::Io("stopped");
  }
  return Status::Ok();
}

Status SpoolBuffer::ReadAll(std::string* out) const {
  out->clear();
  out->reserve(size());
  return ForEachSlice(size_t{1} << 20, [out](std::string_view s) {
    out->append(s);
    return true;
  });
}

Status SpoolBuffer::Take(std::string* out) {
  if (failed()) return failure_;
  if (fd_ < 0) {
    *out = std::move(memory_);
    memory_.clear();
    return Status::Ok();
  }
  out->resize(file_size_);
  for (size_t off = 0; off < file_size_;) {
    const ssize_t n = pread(fd_, &(*out)[off], file_size_ - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return Fail(err, "spool read");
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace smime
