// gmime_text: the differential test's GMime reader (tests/differential).
//
// For every message file named on the command line, prints one line
//   KIND <TAB> BASE64 <TAB> STRUCTURE
// where KIND is "text" (BASE64 is the first text/* leaf, transfer-decoded and
// converted to UTF-8 by GMime), "pkcs7" (the first displayable leaf is an
// application/pkcs7-mime entity; BASE64 is its decoded body, which the caller
// unwraps), "none" (no text leaf) or "unparsable". Display order is depth
// first, and only part 1 of a multipart/signed is displayed. STRUCTURE is the
// tree of content types GMime saw, for the failure report. The message is
// parsed the way mime/smime_locator parses it, so what this prints is what a
// GMime-based reader shows.
#include <fcntl.h>
#include <gmime/gmime.h>

#include <cstdio>
#include <memory>
#include <string>

#include "mime/gmime_ptr.h"

namespace {

using smime::GObjPtr;

struct GFree {
  void operator()(void* p) const { g_free(p); }
};

std::string Base64(const std::string& in) {
  std::unique_ptr<char, GFree> b64(
      g_base64_encode(reinterpret_cast<const guchar*>(in.data()), in.size()));
  return b64 ? b64.get() : "";
}

std::string TypeOf(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct) return "?";
  std::unique_ptr<char, GFree> s(g_mime_content_type_get_mime_type(ct));
  return s ? s.get() : "?";
}

bool Decoded(GMimeObject* obj, std::string* out) {
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
  if (!content) return false;
  GObjPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return false;
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  out->assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  return true;
}

struct Finder {
  std::string kind = "none";
  std::string data;
  std::string structure;

  // Depth first; stops descending once a displayable leaf was found but keeps
  // recording the structure.
  void Walk(GMimeObject* obj, int depth) {
    if (!obj || depth > 50) return;
    structure += TypeOf(obj);
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      structure += "[";
      for (int i = 0; i < n; ++i) {
        if (i) structure += ",";
        const bool shown = !GMIME_IS_MULTIPART_SIGNED(obj) || i == GMIME_MULTIPART_SIGNED_CONTENT;
        if (shown) {
          Walk(g_mime_multipart_get_part(mp, i), depth + 1);
        } else {
          structure += TypeOf(g_mime_multipart_get_part(mp, i));
        }
      }
      structure += "]";
      return;
    }
    if (kind != "none" || !GMIME_IS_PART(obj)) return;
    if (GMIME_IS_APPLICATION_PKCS7_MIME(obj)) {
      if (Decoded(obj, &data)) kind = "pkcs7";
    } else if (GMIME_IS_TEXT_PART(obj)) {
      std::unique_ptr<char, GFree> text(g_mime_text_part_get_text(GMIME_TEXT_PART(obj)));
      data = text ? text.get() : "";
      kind = "text";
    }
  }
};

void Report(const char* path) {
  GObjPtr<GMimeStream> stream(g_mime_stream_fs_open(path, O_RDONLY, 0, nullptr));
  if (!stream) {
    std::printf("unparsable\t\tcannot-open\n");
    return;
  }
  GObjPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  GMimeObject* root = msg ? g_mime_message_get_mime_part(msg.get()) : nullptr;
  if (!root) {
    std::printf("unparsable\t\t-\n");
    return;
  }
  Finder f;
  f.Walk(root, 0);
  std::printf("%s\t%s\t%s\n", f.kind.c_str(), Base64(f.data).c_str(), f.structure.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  g_mime_init();
  for (int i = 1; i < argc; ++i) Report(argv[i]);
  g_mime_shutdown();
  return std::fflush(stdout) == 0 ? 0 : 1;
}
