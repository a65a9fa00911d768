// milter/body_spool: collects a message body from the MTA's chunks.
//
// The body goes into a base/spool_buffer: in memory up to memory_limit
// bytes, beyond that in a private temp file under state_dir (mode 0600)
// that has no name (O_TMPFILE, else unlinked as soon as it is created:
// nothing is left behind by a crash). Beyond max_size bytes the rest is counted but
// not kept, and truncated() says so: the engine then gives a defined
// verdict instead of verifying a partial body.
// Append/Take return a Status; an I/O error (disk full) is a Status, which
// the caller turns into a tempfail; FailureReason() says whether state_dir
// was full (ENOSPC, EDQUOT: "spool-full") or the spool failed otherwise.
#ifndef SMIME_MILTER_BODY_SPOOL_H_
#define SMIME_MILTER_BODY_SPOOL_H_

#include <cstddef>
#include <string>

#include "base/spool_buffer.h"
#include "base/status.h"

namespace smime {

class BodySpool {
 public:
  BodySpool(std::string dir, size_t memory_limit, size_t max_size)
      : kept_(std::move(dir), memory_limit), max_size_(max_size) {}
  BodySpool(const BodySpool&) = delete;
  BodySpool& operator=(const BodySpool&) = delete;

  Status Append(const char* data, size_t len);
  // Moves the whole kept body into *out.
  Status Take(std::string* out) { return kept_.Take(out); }

  // After a failed Append/Take: "spool-full" when the file system (or the
  // quota) had no room, else "spool-failed".
  const char* FailureReason() const { return kept_.FailureReason(); }
  // Spools into fd (taken over) instead of a new file in dir: lets tests
  // meet the kernel's own errors (/dev/full answers ENOSPC).
  void UseFileForTest(int fd) { kept_.UseFileForTest(fd); }

  size_t size() const { return size_; }  // bytes offered, kept or not
  bool truncated() const { return size_ > max_size_; }
  bool on_disk() const { return kept_.on_disk(); }

 private:
  SpoolBuffer kept_;
  size_t max_size_;
  size_t size_ = 0;
};

}  // namespace smime

#endif  // SMIME_MILTER_BODY_SPOOL_H_
