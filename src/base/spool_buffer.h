// base/spool_buffer: a byte buffer that stays in memory up to a limit and
// then moves to a private file, read back in slices.
//
// One mechanism for every large body the filter holds outside its
// parsers: the body received from the MTA (milter/body_spool), the
// ciphertext of an envelope and the new body the engine writes for the MTA
// or `smimectl process` (engine/outbound; docs/performance.md, "Memory per
// message"). Up to memory_limit bytes stay in memory; beyond that the
// content moves to a file in dir that never has a name (O_TMPFILE, mode
// 0600) or, where the file system cannot make one, is created with
// mkostemp (O_CREAT|O_EXCL: a name planted there, link or not, is never
// opened; mode 0600 whatever the umask) and unlinked at once, so nothing
// is left behind on any exit path, a crash or kill -9 included, and
// nothing needs cleaning at start-up. The
// file is written and read with write/pread (page cache, not the process's
// memory) and closed when the buffer goes.
//
// Entry points: Append, ForEachSlice (the content in slices of at most a
// given size, exactly size() bytes or a failure), ReadAll. Failure modes:
// a Status (kIo) naming the step and errno's text; FailureReason() then
// says "spool-full" when the file system or quota had no room (ENOSPC,
// EDQUOT) and "spool-failed" otherwise; failed() stays true after the
// first failure (a later Append is refused, so a gap never goes unnoticed).
#ifndef SMIME_BASE_SPOOL_BUFFER_H_
#define SMIME_BASE_SPOOL_BUFFER_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace smime {

class SpoolBuffer {
 public:
  // Memory only, whatever its size (content built in memory anyway, e.g. a
  // decrypted body, or a test's).
  SpoolBuffer() = default;
  explicit SpoolBuffer(std::string content) : memory_(std::move(content)) {}
  // Spills into a file in dir beyond memory_limit bytes (named
  // prefix.XXXXXX for the moment it has a name, without O_TMPFILE).
  SpoolBuffer(std::string dir, size_t memory_limit, const char* prefix = "body")
      : dir_(std::move(dir)), prefix_(prefix), spill_(true), memory_limit_(memory_limit) {}
  ~SpoolBuffer();
  SpoolBuffer(SpoolBuffer&& o) noexcept { *this = std::move(o); }
  SpoolBuffer& operator=(SpoolBuffer&& o) noexcept;
  SpoolBuffer(const SpoolBuffer&) = delete;
  SpoolBuffer& operator=(const SpoolBuffer&) = delete;

  Status Append(std::string_view data);

  // Hands the content to emit in order, in slices of at most slice bytes
  // (the whole content at once when it is in memory and fits), together
  // exactly size() bytes. emit answering false stops it: a Status kIo
  // "stopped". A read failure, or a file that ends early, is a Status and
  // makes failed() true.
  Status ForEachSlice(size_t slice, const std::function<bool(std::string_view)>& emit) const;
  // The whole content into *out (tests, small bodies).
  Status ReadAll(std::string* out) const;
  // The content moved into *out, the buffer left empty: without a copy when
  // it is in memory.
  Status Take(std::string* out);

  size_t size() const { return on_disk() ? file_size_ : memory_.size(); }
  bool on_disk() const { return fd_ >= 0; }
  bool failed() const { return errno_ != 0; }
  // After a failure: "spool-full" (ENOSPC, EDQUOT) or "spool-failed".
  const char* FailureReason() const;
  // The Status of the first failure (Ok before any).
  const Status& failure() const { return failure_; }

  // Writes into fd (taken over) instead of a new file in dir: lets tests
  // meet the kernel's own errors (/dev/full answers ENOSPC on write).
  void UseFileForTest(int fd);

 private:
  Status Fail(int err, const std::string& what) const;
  Status WriteAll(const char* data, size_t len);

  std::string dir_;
  const char* prefix_ = "body";
  bool spill_ = false;
  size_t memory_limit_ = 0;
  std::string memory_;
  int fd_ = -1;
  size_t file_size_ = 0;
  // Of the first failure; mutable: a failed read marks the buffer too.
  mutable int errno_ = 0;
  mutable Status failure_ = Status::Ok();
};

}  // namespace smime

#endif  // SMIME_BASE_SPOOL_BUFFER_H_
