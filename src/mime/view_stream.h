// mime/view_stream: a read-only GMime stream over memory it does not own.
//
// GMime's memory stream copies its buffer; parsing a 30 MB message that way
// costs another 30 MB (docs/performance.md, "Memory"). NewViewStream() lets
// the parser read the caller's bytes in place, and its substreams (the
// parts' contents, with the parser's persist mode) are views too.
// The bytes must outlive the stream and every object parsed from it.
// Writes fail; nothing else can: reads past the end return 0.
// NewSinkStream() is the other direction: GMime's writing handed on in
// slices (the re-encoded entity written into the signer, mime/smime_writer).
#ifndef SMIME_MIME_VIEW_STREAM_H_
#define SMIME_MIME_VIEW_STREAM_H_

#include <gmime/gmime.h>

#include <cstddef>
#include <functional>
#include <string_view>

namespace smime {

// A new reference (release with g_object_unref, e.g. through GObjPtr).
GMimeStream* NewViewStream(const char* data, size_t size);

// A write-only stream that hands every write to *sink, so that what GMime
// writes is consumed as it comes and never held; a write fails when *sink
// returns false. *sink must outlive the stream. Reads fail.
GMimeStream* NewSinkStream(const std::function<bool(std::string_view)>* sink);

}  // namespace smime

#endif  // SMIME_MIME_VIEW_STREAM_H_
