// mime/gmime_ptr: RAII owner for GObject-based GMime objects and one-time
// library initialisation.
#ifndef SMIME_MIME_GMIME_PTR_H_
#define SMIME_MIME_GMIME_PTR_H_

#include <gmime/gmime.h>

#include <memory>

namespace smime {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GObjPtr = std::unique_ptr<T, GObjectUnref>;

struct InternetAddressListUnref {
  void operator()(InternetAddressList* p) const {
    if (p) g_object_unref(p);
  }
};

// Strings GMime hands over for g_free().
struct GFree {
  void operator()(char* p) const { g_free(p); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

// Calls g_mime_init() once per process; safe from any thread.
void EnsureGmimeInitialised();

}  // namespace smime

#endif  // SMIME_MIME_GMIME_PTR_H_
