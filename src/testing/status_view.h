// testing/status_view: a Status as plain values for cmocka assertions.
//
// cmocka fails an assertion with longjmp, which skips destructors
// (base/testing.h): tests copy a Status into a Res (code and message in a
// fixed buffer) and assert on that. The k* constants are the codes as ints.
#ifndef SMIME_TESTING_STATUS_VIEW_H_
#define SMIME_TESTING_STATUS_VIEW_H_

#include <cstdio>

#include "base/status.h"

namespace smime {
namespace testpki {

struct Res {
  int code = 0;
  char msg[400] = "";
};

inline Res R(const Status& st) {
  Res r;
  r.code = static_cast<int>(st.code());
  std::snprintf(r.msg, sizeof r.msg, "%s", st.message().c_str());
  return r;
}

constexpr int kOk = static_cast<int>(Status::Code::kOk);
constexpr int kInvalid = static_cast<int>(Status::Code::kInvalidInput);
constexpr int kIo = static_cast<int>(Status::Code::kIo);
constexpr int kConfigCode = static_cast<int>(Status::Code::kConfig);

}  // namespace testpki
}  // namespace smime

#endif  // SMIME_TESTING_STATUS_VIEW_H_
