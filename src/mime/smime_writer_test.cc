// Unit tests for mime/smime_writer: what we sign is CRLF, 7-bit, and means
// the same as what the user wrote (decoded content unchanged); 7-bit content
// is kept byte for byte.
#include "mime/smime_writer.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "base/testing.h"
#include "base/text.h"
#include "mime/gmime_ptr.h"

using namespace smime;

namespace {

struct Built {
  bool ok = false;
  std::string changes;  // EntityChangeList
  std::string relay_unsafe;
  bool from_line = false;  // some line starts "From "
  bool seven_bit = false;
  bool crlf_only = false;
  size_t longest = 0;
  std::string bytes;
};

Built Build(const std::vector<MimeHeader>& headers, const std::string& body) {
  Built b;
  SignableEntity e;
  Status st = BuildSignableEntity(headers, body, MimeLimits(), &e);
  b.ok = st.ok();
  b.changes = EntityChangeList(e.changes);
  b.relay_unsafe = e.relay_unsafe;
  b.bytes = e.Bytes();
  b.seven_bit = true;
  b.crlf_only = true;
  size_t line = 0;
  for (size_t i = 0; i < b.bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(b.bytes[i]);
    if (c >= 0x80 || c == 0) b.seven_bit = false;
    if (c == '\n' && (i == 0 || b.bytes[i - 1] != '\r')) b.crlf_only = false;
    if (c == '\r' && (i + 1 >= b.bytes.size() || b.bytes[i + 1] != '\n')) b.crlf_only = false;
    if ((i == 0 || b.bytes[i - 1] == '\n') && b.bytes.compare(i, 5, "From ") == 0)
      b.from_line = true;
    if (c == '\n') {
      b.longest = std::max(b.longest, line);
      line = 0;
    } else if (c != '\r') {
      ++line;
    }
  }
  return b;
}

// The decoded content of the leaf part at index (0 = first leaf).
std::string DecodedLeaf(const std::string& entity, int index) {
  EnsureGmimeInitialised();
  GObjPtr<GMimeStream> s(g_mime_stream_mem_new_with_buffer(entity.data(), entity.size()));
  GObjPtr<GMimeParser> p(g_mime_parser_new_with_stream(s.get()));
  GObjPtr<GMimeObject> obj(g_mime_parser_construct_part(p.get(), nullptr));
  GMimeObject* leaf = obj.get();
  if (GMIME_IS_MULTIPART(leaf)) leaf = g_mime_multipart_get_part(GMIME_MULTIPART(leaf), index);
  if (!leaf || !GMIME_IS_PART(leaf)) return "<no part>";
  GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(leaf));
  GObjPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(w, out.get());
  GByteArray* a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::string(reinterpret_cast<char*>(a->data), a->len);
}

void TestSevenBitKeptExactly(void**) {
  const std::string body = "Hello,\r\n \r\ntrailing space kept \r\n";
  Built b = Build({{"Content-Type", " text/plain; charset=us-ascii"}}, body);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "no");
  assert_string_equal(b.bytes.c_str(),
                      ("Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body).c_str());
}

void TestMissingContentTypeGetsCharset(void**) {
  Built b = Build({}, "plain\r\n");
  assert_true(b.bytes.rfind("Content-Type: text/plain; charset=us-ascii\r\n\r\n", 0) == 0);
  b = Build({}, "K\xc3\xb6ln\r\n");
  assert_true(b.bytes.find("charset=utf-8") != std::string::npos);
  assert_true(b.seven_bit);
  b = Build({}, "K\xf6ln\r\n");  // Latin-1: not UTF-8
  assert_true(b.bytes.find("charset=unknown-8bit") != std::string::npos);
}

void TestEightBitAndLongLinesReencoded(void**) {
  const std::string text =
      "Gr\xc3\xbc\xc3\x9f"
      "e\r\n" +
      std::string(2000, 'y') + "\r\n";
  Built b = Build(
      {{"Content-Type", " text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", " 8bit"}},
      text);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "8bit-to-qp+long-lines");
  assert_true(b.seven_bit);
  assert_true(b.crlf_only);
  assert_true(b.longest <= 998);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), text.c_str());
}

void TestMultipartOnlyEightBitPartChanges(void**) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  const std::string body =
      "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nseven bit\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "Caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet\r\n"
      "--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_string_equal(b.changes.c_str(), "8bit-to-qp");
  assert_true(b.seven_bit);
  assert_true(b.crlf_only);
  // The CRLF before a delimiter belongs to the delimiter, not to the part.
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "seven bit");
  assert_string_equal(DecodedLeaf(b.bytes, 1).c_str(),
                      "Caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet");
}

void TestForwardedMessageAndFromLines(void**) {
  const std::string inner =
      "From: x@y.example\r\nSubject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nInnen gr\xc3\xbc\xc3\x9f"
      "e\r\nFrom me\r\n";
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\n\r\nHello\r\nFrom here on\r\n"
      "--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
      inner + "--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_true(b.seven_bit);
  assert_true(b.bytes.find("\r\nFrom ") == std::string::npos);
  assert_true(b.bytes.find("Content-Transfer-Encoding: 7bit") != std::string::npos);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "Hello\r\nFrom here on");
  // A 7-bit text part with a "From " line alone also goes through encoding.
  b = Build({{"Content-Type", " text/plain"}}, "Hi\r\nFrom now on\r\n");
  assert_string_equal(b.changes.c_str(), "from-armour");
  assert_true(b.bytes.find("\r\n=46rom now on\r\n") != std::string::npos);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "Hi\r\nFrom now on\r\n");
}

void TestNulAndNestedSignatureAndLimits(void**) {
  // A NUL in a part must not cut the entity short.
  const std::string nul =
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
      std::string("a\0b", 3) + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nlast part\r\n--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, nul);
  assert_true(b.ok);
  assert_true(b.bytes.find("last part") != std::string::npos);
  assert_true(b.bytes.find("--b--") != std::string::npos);

  // A forwarded signed message stays byte for byte, "From " lines included.
  const std::string signed_part =
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
      "micalg=sha-256; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\n"
      "From tomorrow on\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--s--\r\n";
  const std::string fwd =
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nK\xc3\xb6ln\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\n" +
      signed_part + "--b--\r\n";
  b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, fwd);
  assert_string_equal(b.changes.c_str(), "8bit-to-base64");  // GMime's pick for "Köln"
  assert_string_equal(b.relay_unsafe.c_str(), "from-line");  // said, not hidden
  assert_true(b.bytes.find("\r\n\r\nFrom tomorrow on\r\n--s\r\n") != std::string::npos);

  // A line of 995 characters is re-encoded (Sendmail wraps at 990).
  b = Build({{"Content-Type", " text/plain"}}, std::string(995, 'z') + "\r\n");
  assert_string_equal(b.changes.c_str(), "long-lines");
  assert_true(b.longest <= 990);
  // Exactly 990 stays as it is (CRs do not count: the scan reads a line at
  // a time); 991 is re-encoded; so is a NUL or an 8-bit byte at any place
  // of a line, and "From " after a blank line.
  b = Build({{"Content-Type", " text/plain"}}, std::string(990, 'z') + "\r\nok\r\n");
  assert_string_equal(b.changes.c_str(), "no");
  assert_true(b.longest == 990);
  b = Build({{"Content-Type", " text/plain"}}, std::string(991, 'z') + "\r\n");
  assert_string_equal(b.changes.c_str(), "long-lines");
  for (size_t at : {size_t{0}, size_t{7}, size_t{8}, size_t{15}, size_t{16}, size_t{20}}) {
    std::string line(21, 'a');
    line[at] = '\xe9';
    b = Build({{"Content-Type", " text/plain; charset=iso-8859-1"}}, "x\r\n" + line + "\r\n");
    assert_string_not_equal(b.changes.c_str(), "no");
    assert_true(b.seven_bit);
  }
  b = Build({{"Content-Type", " text/plain"}}, "x\r\n\r\nFrom me\r\n");
  assert_string_not_equal(b.changes.c_str(), "no");
  assert_false(b.from_line);

  // Many empty parts: refused before GMime builds them.
  std::string many;
  for (int i = 0; i < 3000; ++i) many += "--b\r\n\r\nx\r\n";
  many += "--b--\r\n";
  SignableEntity e;
  Status st = BuildSignableEntity({{"Content-Type", " multipart/mixed; boundary=b"}},
                                  many + "\xc3\xa9\r\n", MimeLimits(), &e);
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "mime-parts-limit");
}

// Issue (a): "From " inside text that is already quoted-printable was
// signed as it came; (b): quoted-printable lines over 998 octets too.
void TestQuotedPrintableFromAndLongLinesReencoded(void**) {
  const std::string qp =
      "Hi=20there\r\nFrom the start=\r\n, soft\r\n" + std::string(1500, 'q') + "=C3=A9\r\nend\r\n";
  const std::vector<MimeHeader> h = {{"Content-Type", " text/plain; charset=utf-8"},
                                     {"Content-Transfer-Encoding", " quoted-printable"}};
  Built b = Build(h, qp);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "from-armour+long-lines");
  assert_false(b.from_line);
  assert_true(b.longest <= 78);  // GMime's 76 plus "=46" for "F"
  assert_true(b.bytes.find("\r\n=46rom the start") != std::string::npos);
  assert_true(b.bytes.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos);
  const std::string want =
      "Hi there\r\nFrom the start, soft\r\n" + std::string(1500, 'q') + "\xc3\xa9\r\nend\r\n";
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), want.c_str());
  // Only the "From " line: armoured, lines kept short.
  b = Build(h, "x\r\nFrom y=3D1\r\n");
  assert_string_equal(b.changes.c_str(), "from-armour");
  assert_false(b.from_line);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "x\r\nFrom y=1\r\n");
  // Relay-proof quoted-printable is kept byte for byte (and not parsed).
  b = Build(h, "x\r\n=46rom y=3D1\r\n");
  assert_string_equal(b.changes.c_str(), "no");
  assert_true(b.bytes.find("\r\n\r\nx\r\n=46rom y=3D1\r\n") != std::string::npos);
}

// Header lines over 990 octets (a part's or a forwarded message's) are
// folded again by GMime; the values stay the same.
void TestLongHeaderLinesFolded(void**) {
  const std::string name(1200, 'n');
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
      "filename=\"" +
      name +
      ".txt\"\r\n\r\nx\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: " +
      name + "\r\n\r\ninner\r\n--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "long-headers");
  assert_true(b.longest <= 990);
  assert_true(b.relay_unsafe.empty());
  EnsureGmimeInitialised();
  GObjPtr<GMimeStream> s(g_mime_stream_mem_new_with_buffer(b.bytes.data(), b.bytes.size()));
  GObjPtr<GMimeParser> p(g_mime_parser_new_with_stream(s.get()));
  GObjPtr<GMimeObject> obj(g_mime_parser_construct_part(p.get(), nullptr));
  GMimeMultipart* mp = GMIME_MULTIPART(obj.get());
  const char* file = g_mime_part_get_filename(GMIME_PART(g_mime_multipart_get_part(mp, 0)));
  assert_string_equal(file ? file : "", (name + ".txt").c_str());
  GMimeMessage* m =
      g_mime_message_part_get_message(GMIME_MESSAGE_PART(g_mime_multipart_get_part(mp, 1)));
  const char* subject = m ? g_mime_message_get_subject(m) : nullptr;
  assert_string_equal(subject ? subject : "", name.c_str());
}

// Issue (b): base64 in one long line is re-wrapped at 76 columns.
void TestLongBase64LinesRewrapped(void**) {
  std::string data;
  for (int i = 0; i < 3000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  std::string one_line = Base64Lines(data);
  one_line.erase(std::remove(one_line.begin(), one_line.end(), '\r'), one_line.end());
  one_line.erase(std::remove(one_line.begin(), one_line.end(), '\n'), one_line.end());
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      one_line + "\r\n--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "long-lines");
  assert_true(b.longest <= 76);
  assert_true(b.crlf_only);
  assert_true(DecodedLeaf(b.bytes, 1) == data);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "see attachment");
}

// A binary part gets base64; the text beside it is kept.
void TestBinaryPartToBase64(void**) {
  std::string data;
  // Bare CR and LF would be made CRLF first: binary needs BINARYMIME, which
  // neither Postfix nor we offer.
  for (int i = 0; i < 600; ++i)
    if (i % 256 != '\r' && i % 256 != '\n') data.push_back(static_cast<char>(i % 256));
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
      data + "\r\n--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "8bit-to-base64");
  assert_true(b.seven_bit);
  assert_true(b.longest <= 76);
  assert_true(b.bytes.find("Content-Transfer-Encoding: base64") != std::string::npos);
  assert_true(DecodedLeaf(b.bytes, 1) == data);
}

// Issue (a): preamble and epilogue are not displayed; their "From " lines
// get a leading space, long lines are split, 8-bit bytes become '?'.
void TestPreambleAndEpilogueRewritten(void**) {
  const std::string body = "From the preamble\r\n" + std::string(1200, 'p') +
                           "\r\n--b\r\nContent-Type: text/plain\r\n\r\npart text\r\n"
                           "--b--\r\nFrom the epilogue gr\xc3\xbc\xc3\x9f"
                           "e\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_true(b.ok);
  assert_string_equal(b.changes.c_str(), "preamble-from+preamble-long-lines+preamble-8bit");
  assert_false(b.from_line);
  assert_true(b.seven_bit);
  assert_true(b.longest <= 990);
  assert_true(b.bytes.find("\r\n From the preamble\r\n") != std::string::npos);
  assert_true(b.bytes.find("\r\n From the epilogue gr????e") != std::string::npos);
  // The part itself is kept byte for byte.
  assert_true(b.bytes.find("--b\r\nContent-Type: text/plain\r\n\r\npart text\r\n--b--") !=
              std::string::npos);
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "part text");
}

// Every kind is relay-proof after building: no "From " line, no line over
// 990, 7-bit and CRLF only; also inside a forwarded message.
void TestForwardedQuotedPrintableArmoured(void**) {
  const std::string inner =
      "From: x@y.example\r\nSubject: fwd\r\nContent-Type: text/plain\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nFrom inside\r\n";
  const std::string body = "--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--b--\r\n";
  Built b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, body);
  assert_string_equal(b.changes.c_str(), "from-armour");
  assert_false(b.from_line);
  assert_true(b.bytes.find("\r\n=46rom inside") != std::string::npos);
  assert_true(b.relay_unsafe.empty());
  // A forwarded message that still begins with its mbox "From " line.
  const std::string mbox =
      "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom dave@d.example Mon Jun  1 00:00:00 "
      "2026\r\nFrom: dave@d.example\r\nSubject: fwd\r\n\r\nplain\r\n--b--\r\n";
  b = Build({{"Content-Type", " multipart/mixed; boundary=b"}}, mbox);
  assert_string_equal(b.changes.c_str(), "mbox-marker");
  assert_false(b.from_line);
  assert_true(b.relay_unsafe.empty());
  assert_true(b.bytes.find("\r\n\r\nFrom: dave@d.example\r\nSubject: fwd\r\n\r\nplain\r\n") !=
              std::string::npos);
}

// A client's own signed message (encrypted only by us) is kept byte for
// byte, even with a "From " line: re-encoding would break its signature.
// Memory: a re-encoded multipart with an epilogue is written by GMime as it
// is read (streamed), not held as a line-end-repaired copy.
void TestEpilogueNeedsNoRepairCopy(void**) {
  const std::string body =
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "caf\xc3\xa9 au lait\r\n--b--\r\nepilogue one\r\nepilogue two\r\n";
  SignableEntity e;
  assert_true(BuildSignableEntity({{"Content-Type", " multipart/mixed; boundary=b"}}, body,
                                  MimeLimits(), &e)
                  .ok());
  assert_true(e.streamed());
  assert_true(e.owned.empty());
  assert_true(e.Bytes().find("--b--\r\nepilogue one\r\nepilogue two\r\n") != std::string::npos);
}

void TestClientSignedMessageKept(void**) {
  const std::vector<MimeHeader> h = {
      {"Content-Type",
       " multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;"
       " boundary=s"}};
  const std::string body =
      "--s\r\nContent-Type: text/plain\r\n\r\nFrom tomorrow on\r\n--s\r\n"
      "Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAAA\r\n--s--\r\n";
  SignableEntity e;
  assert_true(BuildSignableEntity(h, body, MimeLimits(), &e).ok());
  assert_ptr_equal(e.body().data(), body.data());
  assert_int_equal(e.changes, 0);
  assert_string_equal(e.relay_unsafe.c_str(), "from-line");
  assert_string_equal(e.head.c_str(), ("Content-Type:" + h[0].value + "\r\n\r\n").c_str());
}

void TestBareLineEndsCanonicalised(void**) {
  Built b = Build({{"Content-Type", " text/plain"}}, "one\ntwo\rthree\r\n");
  assert_true(b.crlf_only);
  assert_string_equal(b.changes.c_str(), "line-ends");
  assert_string_equal(DecodedLeaf(b.bytes, 0).c_str(), "one\r\ntwo\r\nthree\r\n");
}

// Every change has its own log name.
void TestEveryChangeNamed(void**) {
  assert_string_equal(EntityChangeList(0).c_str(), "no");
  std::vector<std::string> seen;
  for (unsigned bit = 0; bit <= 9; ++bit) {
    const std::string name = EntityChangeList(1u << bit);
    assert_true(name != "no" && name.find('+') == std::string::npos);
    assert_true(std::find(seen.begin(), seen.end(), name) == seen.end());
    seen.push_back(name);
  }
  assert_string_equal(EntityChangeList(kFromArmour | kLongLines).c_str(), "from-armour+long-lines");
}

void TestFraming(void**) {
  const std::string entity = "Content-Type: text/plain\r\n\r\nx\r\n";
  const std::string boundary = NewBoundary(entity);
  assert_true(entity.find(boundary) == std::string::npos);
  assert_true(NewBoundary(entity) != boundary);
  const std::string body = ClearSignedBody(entity, "DER", boundary);
  // The signed part is exactly the entity: it ends right before CRLF--boundary.
  const std::string open = "--" + boundary + "\r\n";
  size_t start = body.find(open) + open.size();
  size_t end = body.find("\r\n--" + boundary, start);
  assert_string_equal(body.substr(start, end - start).c_str(), entity.c_str());
  assert_string_equal(Base64Lines("DER").c_str(), "REVS\r\n");
  assert_int_equal(Base64Lines(std::string(100, 'a')).find("\r\n"), 76);
}

// Memory: a body that needs no change is signed in place (the entity
// views it); one whose line ends are repaired, or that is re-encoded, is
// the entity's own copy.
void TestEntityBorrowsUnchangedBody(void**) {
  const std::vector<MimeHeader> h = {{"Content-Type", " text/plain"}};
  const std::string body = "plain\r\ntext\r\n";
  SignableEntity e;
  assert_true(BuildSignableEntity(h, body, MimeLimits(), &e).ok());
  assert_ptr_equal(e.body().data(), body.data());
  assert_string_equal(e.head.c_str(), "Content-Type: text/plain\r\n\r\n");
  assert_int_equal(e.size(), e.head.size() + body.size());
  const std::string bare = "plain\ntext\n";
  assert_true(BuildSignableEntity(h, bare, MimeLimits(), &e).ok());
  assert_true(e.body().data() != bare.data());
  assert_string_equal(std::string(e.body()).c_str(), "plain\r\ntext\r\n");
  const std::string eight = "caf\xc3\xa9\r\n";
  assert_true(BuildSignableEntity(h, eight, MimeLimits(), &e).ok());
  assert_int_equal(e.changes, kEightBitToBase64);  // GMime's choice for mostly 8-bit text
  assert_true(e.head.empty());
  assert_true(e.Bytes().find("Content-Transfer-Encoding:") != std::string::npos);
  // Moving the entity keeps its body.
  SignableEntity moved = std::move(e);
  assert_true(moved.Bytes().find("Content-Transfer-Encoding:") != std::string::npos);
}

// Memory: a re-encoded entity holds no encoded copy (only GMime's tree
// over the caller's bytes and its first header block); every writing gives
// the same bytes, from any offset, and one that differs from the first
// (as if GMime wrote otherwise) fails instead of passing on other bytes.
void TestReencodedEntityStreamed(void**) {
  std::string body;
  for (int i = 0; i < 20000; ++i)
    body +=
        "From line " + std::to_string(i) + ": the quick brown fox, gr\xc3\xbc\xc3\x9f" + "e\r\n";
  const std::vector<MimeHeader> h = {{"Content-Type", " text/plain; charset=utf-8"},
                                     {"Content-Transfer-Encoding", " 8bit"}};
  SignableEntity e;
  assert_true(BuildSignableEntity(h, body, MimeLimits(), &e).ok());
  assert_true(e.streamed());
  assert_int_equal(e.changes, kEightBitToQp | kFromArmour);
  assert_true(e.head.empty() && e.owned.empty() && e.borrowed == nullptr);
  assert_true(e.body().empty());
  const std::string all = e.Bytes();
  assert_int_equal(all.size(), e.size());
  assert_true(all.size() > body.size());
  assert_true(all.find("\r\n=46rom line 0: the quick brown fox, gr=C3=BC=C3=9Fe\r\n") !=
              std::string::npos);
  assert_true(all.find("\nFrom ") == std::string::npos);
  // The lead is the entity's header block, and all the entity holds.
  assert_true(e.Lead().size() < 200);
  assert_true(all.compare(0, e.Lead().size(), e.Lead()) == 0);
  assert_true(e.Lead().substr(e.Lead().size() - 4) == "\r\n\r\n");
  assert_string_equal(e.Bytes().c_str(), all.c_str());
  for (size_t skip : {size_t{0}, size_t{1}, e.Lead().size(), all.size() / 2, all.size()}) {
    std::string part;
    assert_true(e.Write(
        [&part](std::string_view s) {
          part.append(s);
          return true;
        },
        skip));
    assert_true(part == all.substr(skip));
  }
  // A failing consumer stops the writing.
  assert_false(e.Write([](std::string_view) { return false; }));
  // Found across GMime's slices, and not found when absent.
  assert_true(e.Contains("=46rom line 19999: the quick brown fox, gr=C3=BC"));
  assert_true(e.Contains(all.substr(all.size() / 2 - 5000, 9000)));
  assert_false(e.Contains("From line"));
  // Moved, it still writes the same bytes (its sources stay in place).
  SignableEntity moved = std::move(e);
  assert_true(moved.Bytes() == all);
  // A writing that differs from the first fails.
  moved.written_digest[0] = static_cast<char>(moved.written_digest[0] ^ 1);
  assert_false(moved.Write([](std::string_view) { return true; }));
}

// Line ends repaired and re-encoded: GMime views the repaired copy, which
// the entity keeps.
void TestReencodedRepairedBody(void**) {
  const std::string bare = "caf\xc3\xa9 au lait\nFrom here\n";
  SignableEntity e;
  assert_true(
      BuildSignableEntity({{"Content-Type", " text/plain; charset=utf-8"}}, bare, MimeLimits(), &e)
          .ok());
  assert_true(e.streamed());
  assert_true(e.source_body != nullptr);
  assert_int_equal(e.changes & kLineEnds, kLineEnds);
  const std::string all = e.Bytes();
  assert_int_equal(all.size(), e.size());
  assert_true(all.find("\r\n=46rom here\r\n") != std::string::npos);
  assert_true(all.find("caf=C3=A9 au lait\r\n") != std::string::npos);
}

// Streamed and in-place base64 are Base64Lines, whatever the slicing.
void TestBase64WriterAndInPlace(void**) {
  for (size_t n = 0; n < 400; n += (n < 130 ? 1 : 37)) {
    std::string data(n, '\0');
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 31 + 7);
    const std::string want = Base64Lines(data);
    assert_int_equal(Base64LineWriter::EncodedSize(n), want.size());
    for (size_t slice : {size_t{1}, size_t{5}, size_t{56}, size_t{57}, size_t{58}, size_t{1000}}) {
      std::string got;
      Base64LineWriter w(&got);
      for (size_t at = 0; at < n; at += slice) w.Write(std::string_view(data).substr(at, slice));
      w.Finish();
      assert_string_equal(got.c_str(), want.c_str());
    }
    std::string buf(want.size() - n, '?');
    buf += data;
    Base64LinesInPlace(&buf, n);
    assert_string_equal(buf.c_str(), want.c_str());
  }
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestSevenBitKeptExactly),
      cmocka_unit_test(TestMissingContentTypeGetsCharset),
      cmocka_unit_test(TestEightBitAndLongLinesReencoded),
      cmocka_unit_test(TestMultipartOnlyEightBitPartChanges),
      cmocka_unit_test(TestForwardedMessageAndFromLines),
      cmocka_unit_test(TestNulAndNestedSignatureAndLimits),
      cmocka_unit_test(TestQuotedPrintableFromAndLongLinesReencoded),
      cmocka_unit_test(TestLongBase64LinesRewrapped),
      cmocka_unit_test(TestLongHeaderLinesFolded),
      cmocka_unit_test(TestBinaryPartToBase64),
      cmocka_unit_test(TestPreambleAndEpilogueRewritten),
      cmocka_unit_test(TestForwardedQuotedPrintableArmoured),
      cmocka_unit_test(TestEpilogueNeedsNoRepairCopy),
      cmocka_unit_test(TestClientSignedMessageKept),
      cmocka_unit_test(TestBareLineEndsCanonicalised),
      cmocka_unit_test(TestEveryChangeNamed),
      cmocka_unit_test(TestFraming),
      cmocka_unit_test(TestEntityBorrowsUnchangedBody),
      cmocka_unit_test(TestReencodedEntityStreamed),
      cmocka_unit_test(TestReencodedRepairedBody),
      cmocka_unit_test(TestBase64WriterAndInPlace),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
