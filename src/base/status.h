// base/status: the result of an operation that can fail.
//
// A Status is either OK or carries a code and a one-line message meant for
// an administrator ("file:line: reason" for configuration errors). Functions
// that can fail return Status (or fill an out-parameter and return Status);
// they never throw for expected failures such as bad input.
#ifndef SMIME_BASE_STATUS_H_
#define SMIME_BASE_STATUS_H_

#include <string>
#include <utility>

namespace smime {

class Status {
 public:
  enum class Code { kOk, kInvalidInput, kConfig, kNotFound, kIo, kLimit, kInternal };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string m) { return {Code::kInvalidInput, std::move(m)}; }
  static Status Config(std::string m) { return {Code::kConfig, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Limit(std::string m) { return {Code::kLimit, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace smime

#endif  // SMIME_BASE_STATUS_H_
