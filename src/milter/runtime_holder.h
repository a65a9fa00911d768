// milter/runtime_holder: the current Runtime, swapped whole on reload.
//
// Each message takes a reference at MAIL FROM and keeps it to the end, so a
// reload never changes the rules under an in-flight message; the old runtime
// is freed when its last message finishes. Thread-safe.
#ifndef SMIME_MILTER_RUNTIME_HOLDER_H_
#define SMIME_MILTER_RUNTIME_HOLDER_H_

#include <memory>
#include <mutex>

#include "engine/runtime.h"

namespace smime {

class RuntimeHolder {
 public:
  std::shared_ptr<const Runtime> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const Runtime> rt) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(rt);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Runtime> current_;
};

}  // namespace smime

#endif  // SMIME_MILTER_RUNTIME_HOLDER_H_
