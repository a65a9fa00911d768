// milter/body_spool: see body_spool.h.
#include "milter/body_spool.h"

#include <algorithm>
#include <string_view>

namespace smime {

Status BodySpool::Append(const char* data, size_t len) {
  size_t keep = 0;
  if (size_ < max_size_) keep = std::min(len, max_size_ - size_);
  size_ += len;
  if (keep == 0) return Status::Ok();
  return kept_.Append(std::string_view(data, keep));
}

}  // namespace smime
