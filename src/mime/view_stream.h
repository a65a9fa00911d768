// mime/view_stream: a read-only GMime stream over memory it does not own.
//
// GMime's memory stream copies its buffer; parsing a 30 MB message that way
// costs another 30 MB (docs/performance.md, "Memory"). NewViewStream() lets
// the parser read the caller's bytes in place, and its substreams (the
// parts' contents, with the parser's persist mode) are views too.
// The bytes must outlive the stream and every object parsed from it.
// Writes fail; nothing else can: reads past the end return 0.
#ifndef SMIME_MIME_VIEW_STREAM_H_
#define SMIME_MIME_VIEW_STREAM_H_

#include <gmime/gmime.h>

#include <cstddef>

namespace smime {

// A new reference (release with g_object_unref, e.g. through GObjPtr).
GMimeStream* NewViewStream(const char* data, size_t size);

}  // namespace smime

#endif  // SMIME_MIME_VIEW_STREAM_H_
