// engine/transaction: see transaction.h.
#include "engine/transaction.h"

#include <strings.h>

#include "mime/rcpt_address.h"
#include "mime/smime_locator.h"

namespace smime {

const char* DirectionName(Direction d) {
  switch (d) {
    case Direction::kAuto: return "auto";
    case Direction::kInbound: return "inbound";
    case Direction::kOutbound: return "outbound";
  }
  return "?";
}

namespace {

// m: the message with CRLF line ends; the body moves out of it.
void ParseCrlfMessage(std::string m, Transaction* tx) {
  tx->message_size = m.size();
  tx->headers.clear();
  tx->no_header_separator = false;
  size_t pos = 0;
  while (pos < m.size()) {
    size_t eol = m.find("\r\n", pos);
    if (eol == std::string::npos) eol = m.size();
    if (eol == pos) {  // blank line: body follows
      pos += 2;
      break;
    }
    std::string line = m.substr(pos, eol - pos);
    if ((line[0] == ' ' || line[0] == '\t') && !tx->headers.empty()) {
      tx->headers.back().value += "\r\n" + line;
    } else {
      size_t colon = line.find(':');
      if (colon == std::string::npos || colon == 0) {  // not a header: body starts here
        tx->no_header_separator = true;
        break;
      }
      // MTAs hand milters the name without blanks before the colon
      // ("Authentication-Results :" arrives as "Authentication-Results").
      size_t name_end = colon;
      while (name_end > 0 && (line[name_end - 1] == ' ' || line[name_end - 1] == '\t')) --name_end;
      if (name_end == 0) {
        tx->no_header_separator = true;
        break;
      }
      tx->headers.push_back({line.substr(0, name_end), line.substr(colon + 1),
                             name_end == colon ? "" : line.substr(0, colon)});
    }
    pos = eol + 2;
  }
  // The body moves out of the converted copy instead of being copied again.
  if (pos < m.size()) {
    std::string m2 = std::move(m);
    m2.erase(0, pos);
    tx->body = std::move(m2);
  } else {
    tx->body.clear();
  }
}

bool HasBareLf(const std::string& s) {
  for (size_t at = s.find('\n'); at != std::string::npos; at = s.find('\n', at + 1))
    if (at == 0 || s[at - 1] != '\r') return true;
  return false;
}

}  // namespace

void ParseRawMessage(const std::string& raw, Transaction* tx) { ParseCrlfMessage(ToCrlf(raw), tx); }

void ParseRawMessage(std::string&& raw, Transaction* tx) {
  if (HasBareLf(raw)) {
    ParseCrlfMessage(ToCrlf(raw), tx);
    std::string().swap(raw);
    return;
  }
  ParseCrlfMessage(std::move(raw), tx);
}

std::string WireMessage(const Transaction& tx) {
  std::string out;
  out.reserve(tx.body.size() + 4096);
  for (const Header& h : tx.headers)
    out += (h.spelled_name.empty() ? h.name : h.spelled_name) + ":" + h.value + "\r\n";
  if (!tx.no_header_separator) out += "\r\n";
  out += tx.body;
  return out;
}

std::string EnvelopeAddress(const std::string& arg) {
  RcptAddress clean;
  if (ParseRcptAddress(arg, &clean).empty()) return clean.address;
  std::string a = arg;
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  if (a.find('@') != std::string::npos)
    while (!a.empty() && a.back() == '.') a.pop_back();
  return a;
}

std::vector<std::string> HeaderValues(const Transaction& tx, const char* name) {
  std::vector<std::string> v;
  for (const Header& h : tx.headers)
    if (strcasecmp(h.name.c_str(), name) == 0) v.push_back(h.value);
  return v;
}

}  // namespace smime
