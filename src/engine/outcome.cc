// engine/outcome: see outcome.h.
#include "engine/outcome.h"

#include <strings.h>

#include <cstdio>

namespace smime {

const char* DispositionName(Disposition d) {
  switch (d) {
    case Disposition::kAccept: return "accept";
    case Disposition::kTempFail: return "tempfail";
    case Disposition::kReject: return "reject";
  }
  return "?";
}

void Outcome::AddNote(const std::string& text) {
  if (text.empty()) return;
  note = note.empty() ? text : note + "; " + text;
}

std::string Outcome::LogLine(const std::string& queue_id) const {
  std::string all = fields;
  if (!note.empty()) AppendField(&all, "detail", note);
  return queue_id + ": " + event + ": " + all;
}

bool ApplyEdits(const Outcome& o, Transaction* tx) {
  bool ok = true;
  if (o.replace_body && !o.body.ReadAll(&tx->body).ok()) {
    tx->body.clear();
    ok = false;
  }
  for (const HeaderEdit& e : o.edits) {
    if (e.kind == HeaderEdit::Kind::kDelete) {
      int seen = 0;
      for (auto it = tx->headers.begin(); it != tx->headers.end(); ++it) {
        if (strcasecmp(it->name.c_str(), e.name.c_str()) == 0 && ++seen == e.index) {
          tx->headers.erase(it);
          break;
        }
      }
    } else {
      std::string value = " ";
      for (char c : e.value) {
        if (c == '\n')
          value += "\r\n";
        else
          value.push_back(c);
      }
      size_t at = e.kind == HeaderEdit::Kind::kAppend
                      ? tx->headers.size()
                      : std::min<size_t>(static_cast<size_t>(e.index), tx->headers.size());
      tx->headers.insert(tx->headers.begin() + static_cast<long>(at), Header{e.name, value, ""});
    }
  }
  return ok;
}

namespace {
std::string Json(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}
}  // namespace

std::string OutcomeJson(const Outcome& o, const std::string& queue_id) {
  std::string j = "{\"disposition\":" + Json(DispositionName(o.disposition));
  if (o.disposition != Disposition::kAccept)
    j += ",\"reply\":" + Json(o.reply_code + " " + o.reply_xcode + " " + o.reply_text);
  j += ",\"direction\":" + Json(DirectionName(o.direction));
  j += ",\"verdict\":" + Json(AuthResultName(o.verdict));
  j += ",\"results\":[";
  for (size_t i = 0; i < o.results.size(); ++i) {
    const SignatureResult& r = o.results[i];
    j += std::string(i ? "," : "") + "{\"result\":" + Json(AuthResultName(r.result)) +
         ",\"reason\":" + Json(r.reason) + ",\"identifier\":" + Json(r.identifier) +
         ",\"part\":" + Json(r.part) + ",\"serial\":" + Json(r.serial) +
         ",\"issuer\":" + Json(r.issuer) + "}";
  }
  j += "],\"edits\":[";
  for (size_t i = 0; i < o.edits.size(); ++i) {
    const HeaderEdit& e = o.edits[i];
    j += std::string(i ? "," : "") + "{\"op\":" +
         Json(e.kind == HeaderEdit::Kind::kInsert   ? "insert"
              : e.kind == HeaderEdit::Kind::kAppend ? "append"
                                                    : "delete") +
         ",\"name\":" + Json(e.name) + ",\"index\":" + std::to_string(e.index);
    if (e.kind != HeaderEdit::Kind::kDelete) j += ",\"value\":" + Json(e.value);
    j += "}";
  }
  j += "],\"body_replaced\":" + std::string(o.replace_body ? "true" : "false");
  j += ",\"log\":" + Json(std::string(SeverityPrefix(o.severity)) + o.LogLine(queue_id)) + "}";
  return j;
}

}  // namespace smime
