// mime/view_stream: see view_stream.h.
#include "mime/view_stream.h"

#include <algorithm>
#include <cstring>

namespace smime {

namespace {

struct ViewStream {
  GMimeStream parent;
  const char* data;
  gint64 size;
};

struct ViewStreamClass {
  GMimeStreamClass parent_class;
};

GType ViewStreamType();

ViewStream* AsView(GMimeStream* s) { return reinterpret_cast<ViewStream*>(s); }

// Never past the borrowed bytes, whatever bounds a substream was given.
gint64 End(GMimeStream* s) {
  const gint64 size = AsView(s)->size;
  return s->bound_end < 0 ? size : std::min(s->bound_end, size);
}

ssize_t Read(GMimeStream* s, char* buf, size_t len) {
  const gint64 left = End(s) - s->position;
  if (left <= 0) return 0;
  const size_t n = std::min(len, static_cast<size_t>(left));
  std::memcpy(buf, AsView(s)->data + s->position, n);
  s->position += static_cast<gint64>(n);
  return static_cast<ssize_t>(n);
}

ssize_t Write(GMimeStream*, const char*, size_t) { return -1; }
int Flush(GMimeStream*) { return 0; }
int Close(GMimeStream*) { return 0; }
gboolean Eos(GMimeStream* s) { return s->position >= End(s); }

int Reset(GMimeStream* s) {
  s->position = s->bound_start;
  return 0;
}

gint64 Seek(GMimeStream* s, gint64 offset, GMimeSeekWhence whence) {
  gint64 to;
  switch (whence) {
    case GMIME_STREAM_SEEK_SET: to = offset; break;
    case GMIME_STREAM_SEEK_CUR: to = s->position + offset; break;
    case GMIME_STREAM_SEEK_END: to = End(s) + offset; break;
    default: return -1;
  }
  if (to < s->bound_start || to > End(s)) return -1;
  s->position = to;
  return to;
}

gint64 Tell(GMimeStream* s) { return s->position; }
gint64 Length(GMimeStream* s) { return End(s) - s->bound_start; }

GMimeStream* Substream(GMimeStream* s, gint64 start, gint64 end) {
  auto* sub = static_cast<ViewStream*>(g_object_new(ViewStreamType(), nullptr));
  sub->data = AsView(s)->data;
  sub->size = AsView(s)->size;
  g_mime_stream_construct(&sub->parent, start, end);
  return &sub->parent;
}

void ClassInit(gpointer klass, gpointer) {
  GMimeStreamClass* c = static_cast<GMimeStreamClass*>(klass);
  c->read = Read;
  c->write = Write;
  c->flush = Flush;
  c->close = Close;
  c->eos = Eos;
  c->reset = Reset;
  c->seek = Seek;
  c->tell = Tell;
  c->length = Length;
  c->substream = Substream;
}

GType ViewStreamType() {
  static const GType type = g_type_register_static_simple(
      GMIME_TYPE_STREAM, "SmimeViewStream", sizeof(ViewStreamClass), ClassInit, sizeof(ViewStream),
      nullptr, static_cast<GTypeFlags>(0));
  return type;
}

struct SinkStream {
  GMimeStream parent;
  const std::function<bool(std::string_view)>* sink;
};

struct SinkStreamClass {
  GMimeStreamClass parent_class;
};

ssize_t SinkRead(GMimeStream*, char*, size_t) { return -1; }

ssize_t SinkWrite(GMimeStream* s, const char* buf, size_t len) {
  if (len == 0) return 0;
  if (!(*reinterpret_cast<SinkStream*>(s)->sink)(std::string_view(buf, len))) return -1;
  s->position += static_cast<gint64>(len);
  return static_cast<ssize_t>(len);
}

gboolean SinkEos(GMimeStream*) { return FALSE; }
int SinkReset(GMimeStream*) { return -1; }
gint64 SinkSeek(GMimeStream*, gint64, GMimeSeekWhence) { return -1; }
gint64 SinkLength(GMimeStream*) { return -1; }
GMimeStream* SinkSubstream(GMimeStream*, gint64, gint64) { return nullptr; }

void SinkClassInit(gpointer klass, gpointer) {
  GMimeStreamClass* c = static_cast<GMimeStreamClass*>(klass);
  c->read = SinkRead;
  c->write = SinkWrite;
  c->flush = Flush;
  c->close = Close;
  c->eos = SinkEos;
  c->reset = SinkReset;
  c->seek = SinkSeek;
  c->tell = Tell;
  c->length = SinkLength;
  c->substream = SinkSubstream;
}

GType SinkStreamType() {
  static const GType type = g_type_register_static_simple(
      GMIME_TYPE_STREAM, "SmimeSinkStream", sizeof(SinkStreamClass), SinkClassInit,
      sizeof(SinkStream), nullptr, static_cast<GTypeFlags>(0));
  return type;
}

}  // namespace

GMimeStream* NewSinkStream(const std::function<bool(std::string_view)>* sink) {
  auto* s = static_cast<SinkStream*>(g_object_new(SinkStreamType(), nullptr));
  s->sink = sink;
  g_mime_stream_construct(&s->parent, 0, -1);
  return &s->parent;
}

GMimeStream* NewViewStream(const char* data, size_t size) {
  auto* s = static_cast<ViewStream*>(g_object_new(ViewStreamType(), nullptr));
  s->data = data;
  s->size = static_cast<gint64>(size);
  g_mime_stream_construct(&s->parent, 0, static_cast<gint64>(size));
  return &s->parent;
}

}  // namespace smime
