// fuzz/mime_fuzz: the MIME parsers on a hostile message.
//
// The input is a whole message. LocateSmime (inbound: where are the S/MIME
// entities) runs on it in CRLF form with the default limits; then the
// message is split at the first blank line into its Content-* headers and
// body, and BuildSignableEntity (outbound: the entity to sign) runs on those;
// header protection (RFC 9788) reads the input as a payload root and writes
// the built entity's header block with the message's fields. The built
// entity is written again: a re-encoded one must give the bytes of its
// first writing (what was signed is what goes out), else the target aborts.
// Errors returned as Status are fine; a bug is any crash, sanitizer report
// (ASan/UBSan), leak, hang or exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mime/header_protection.h"
#include "mime/smime_locator.h"
#include "mime/smime_writer.h"

namespace {

// Header fields (with their folded continuation lines) up to the first empty
// line; the rest is the body. Lines end in CRLF.
void Split(const std::string& msg, std::vector<smime::MimeHeader>* headers, std::string* body) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t eol = msg.find("\r\n", pos);
    if (eol == std::string::npos) eol = msg.size();
    std::string line = msg.substr(pos, eol - pos);
    size_t next = eol + 2 > msg.size() ? msg.size() : eol + 2;
    if (line.empty()) {
      pos = next;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !headers->empty()) {
      headers->back().value += "\r\n" + line;
    } else {
      size_t colon = line.find(':');
      if (colon == std::string::npos) break;  // not a header: the body starts here
      headers->push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    pos = next;
  }
  *body = msg.substr(pos < msg.size() ? pos : msg.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string msg = smime::ToCrlf(std::string(reinterpret_cast<const char*>(data), size));
  smime::MimeLimits limits;
  smime::SmimeLayout layout;
  (void)smime::LocateSmime(msg, limits, &layout);

  std::vector<smime::MimeHeader> all, content;
  std::string body;
  Split(msg, &all, &body);
  for (const smime::MimeHeader& h : all)
    if (smime::IsContentHeader(h.name)) content.push_back(h);
  smime::SignableEntity entity;
  if (!smime::BuildSignableEntity(content, body, limits, &entity).ok()) return 0;
  size_t written = 0;
  if (!entity.Write([&written](std::string_view s) {
        written += s.size();
        return true;
      }) ||
      written != entity.size())
    std::abort();

  smime::HpInbound in;
  (void)smime::ParseProtectedHeaders(msg, &in);
  (void)smime::HeadersToRestore(in);
  const smime::HpPlan plan =
      smime::PlanHeaderProtection(all, smime::HpMode::kCipher, "[...]", true);
  std::string head;
  size_t consumed = 0;
  (void)smime::ProtectPayloadHead(entity.Lead(), plan, &head, &consumed);
  return 0;
}
