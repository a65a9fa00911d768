// base/text: see text.h.
#include "base/text.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace smime {

std::string AsciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  *out = ss.str();
  return true;
}

bool IsAddressOrAtDomain(const std::string& s) {
  const size_t at = s.find('@');
  return at != std::string::npos && at + 1 < s.size() && s.find('@', at + 1) == std::string::npos;
}

Status ReadTableFile(const std::string& path, bool required, bool commas_separate,
                     std::vector<TableLine>* out) {
  out->clear();
  std::ifstream in(path);
  if (!in) {
    if (!required && errno == ENOENT) return Status::Ok();
    return Status::Config(path + ": cannot read: " + std::strerror(errno));
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (commas_separate)
      for (char& c : line)
        if (c == ',') c = ' ';
    std::istringstream ss(line);
    TableLine t;
    for (std::string w; ss >> w;) t.fields.push_back(w);
    if (t.fields.empty() || t.fields[0][0] == '#') continue;
    t.origin = path + ":" + std::to_string(n);
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

namespace {
constexpr size_t kLineBytes = 57;  // 57 bytes -> 76 base64 characters

size_t EncodeLine(const unsigned char* in, size_t n, char* out) {
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out), in, static_cast<int>(n));
  out[len] = '\r';
  out[len + 1] = '\n';
  return static_cast<size_t>(len) + 2;
}
}  // namespace

size_t Base64LineWriter::EncodedSize(size_t n) {
  const size_t full = n / kLineBytes, rest = n % kLineBytes;
  return full * 78 + (rest ? (rest + 2) / 3 * 4 + 2 : 0);
}

void Base64LineWriter::Write(std::string_view data) {
  char line[80];
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  if (npending_ > 0) {
    const size_t take = std::min(n, kLineBytes - npending_);
    std::memcpy(pending_ + npending_, p, take);
    npending_ += take;
    p += take;
    n -= take;
    if (npending_ < kLineBytes) return;
    out_->append(line, EncodeLine(pending_, kLineBytes, line));
    npending_ = 0;
  }
  for (; n >= kLineBytes; p += kLineBytes, n -= kLineBytes)
    out_->append(line, EncodeLine(p, kLineBytes, line));
  std::memcpy(pending_, p, n);
  npending_ = n;
}

void Base64LineWriter::Finish() {
  char line[80];
  if (npending_ > 0) out_->append(line, EncodeLine(pending_, npending_, line));
  npending_ = 0;
}

void Base64LinesInPlace(std::string* buf, size_t n) {
  // Line k reads [from + 57k, +57) and writes [78k, +78): with from =
  // EncodedSize(n) - n >= 21 x (lines - 1), no write reaches a later line's input.
  const size_t from = buf->size() - n;
  unsigned char chunk[kLineBytes];
  char line[80];
  size_t out = 0;
  for (size_t at = 0; at < n; at += kLineBytes) {
    const size_t len = std::min(kLineBytes, n - at);
    std::memcpy(chunk, buf->data() + from + at, len);
    const size_t w = EncodeLine(chunk, len, line);
    std::memcpy(&(*buf)[out], line, w);
    out += w;
  }
}

std::string ExpiryWarning(const std::string& what, std::time_t not_after, std::time_t now, int days,
                          const std::string& expired, const std::string& advice) {
  const std::time_t left = not_after - now;
  if (left > static_cast<std::time_t>(days) * 86400) return "";
  char when[32];
  struct tm tm;
  gmtime_r(&not_after, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (left <= 0) return what + " expired at " + when + ": " + expired;
  return what + " expires at " + when + ", in " + std::to_string(left / 86400) + " days: " + advice;
}

}  // namespace smime
