// engine/decryption: see decryption.h.
#include "engine/decryption.h"

#include <string.h>
#include <strings.h>

#include <algorithm>

#include "certdir/cert_store.h"
#include "cms/decrypt.h"
#include "engine/outbound.h"
#include "mime/address.h"
#include "mime/header_protection.h"
#include "mime/smime_locator.h"
#include "mime/smime_writer.h"

namespace smime {

namespace {

DecryptionAttempt Kept(const std::string& reason, const std::string& detail = "") {
  DecryptionAttempt a;
  a.state = DecryptionAttempt::State::kKept;
  a.reason = reason;
  a.detail = detail;
  return a;
}

// The reason word of a cms/decrypt Status ("decryption-failed: ..." ->
// "decryption-failed") and the rest.
void SplitReason(const Status& st, std::string* reason, std::string* detail) {
  const std::string& m = st.message();
  const size_t colon = m.find(": ");
  *reason = m.substr(0, colon);
  *detail = colon == std::string::npos ? "" : m.substr(colon + 2);
}

// A raw header value (leading blank, CRLF continuations) as HeaderEdit wants
// it: no leading blank, continuations as "\n" plus their blank. The sender
// wrote it: a bare CR, a NUL or a line end not followed by a blank (which
// would start a header of the sender's choosing) becomes a space.
std::string EditValue(const std::string& raw) {
  size_t start = 0;
  while (start < raw.size() && (raw[start] == ' ' || raw[start] == '\t')) ++start;
  std::string out;
  for (size_t i = start; i < raw.size(); ++i) {
    const char c = raw[i];
    const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
    if (c == '\r' && next == '\n') continue;
    const bool folded = c == '\n' && (next == ' ' || next == '\t');
    out.push_back((c == '\r' || c == '\0' || (c == '\n' && !folded)) ? ' ' : c);
  }
  return out;
}

// The content a top-level signature covers (multipart/signed, or opaque
// SignedData): false for anything else. Most mail is neither: no parse for it
// (docs/performance.md).
bool SignedContentOf(const Transaction& tx, const MimeLimits& limits, std::string* entity) {
  const std::vector<std::string> types = HeaderValues(tx, "Content-Type");
  if (types.empty() || (!strcasestr(types[0].c_str(), "multipart/signed") &&
                        !strcasestr(types[0].c_str(), "pkcs7-mime")))
    return false;
  const std::string wire = WireMessage(tx);
  SmimeLayout layout;
  if (!LocateSmime(wire, limits, &layout).ok()) return false;
  if (layout.kind == SmimeLayout::Kind::kClearSigned) {
    entity->assign(layout.signed_content.data(), layout.signed_content.size());
    return true;
  }
  return layout.kind == SmimeLayout::Kind::kOpaque && SignedDataContent(layout.cms_der, entity);
}

// Triple-wrapped mail (RFC 2634: signed, then encrypted, then signed): the
// top level is a signature (multipart/signed or opaque SignedData) whose
// signed content is one entity. *carrier is tx with that entity as its
// content (its Content-* headers and body), for EncryptedCmsDer's strict
// reading; the outer signature covers all of it, so no attacker part sits
// beside the envelope.
bool SignedEnvelope(const Transaction& tx, const MimeLimits& limits, Transaction* carrier) {
  std::string entity;
  if (!SignedContentOf(tx, limits, &entity)) return false;
  Transaction inner;
  ParseRawMessage(entity, &inner);
  *carrier = tx;
  carrier->headers.clear();
  for (const Header& h : tx.headers)
    if (!IsContentHeader(h.name)) carrier->headers.push_back(h);
  for (const Header& h : inner.headers)
    if (IsContentHeader(h.name)) carrier->headers.push_back(h);
  carrier->body = std::move(inner.body);
  carrier->no_header_separator = false;
  carrier->message_size = WireMessage(*carrier).size();
  return true;
}

bool SameName(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

// A protected field's value (unfolded, leading blank kept) as an outer
// header value: blanks off both ends, any CR, LF or NUL a space (the strict
// reading refuses them; this holds whatever reads the block), then folded
// before a blank so lines stay within 78 characters where a blank allows.
// name_length: the "Name: " in front of the first line.
std::string RestoredValue(const std::string& raw, size_t name_length) {
  std::string v;
  for (char c : raw) v.push_back((c == '\r' || c == '\n' || c == '\0') ? ' ' : c);
  const size_t b = v.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  v = v.substr(b, v.find_last_not_of(" \t") + 1 - b);
  std::string out;
  size_t line_start = 0, used = name_length, last_blank = std::string::npos;
  for (char c : v) {
    if ((c == ' ' || c == '\t') && out.size() > line_start) last_blank = out.size();
    out.push_back(c);
    if (out.size() - line_start + used > 78 && last_blank != std::string::npos) {
      out.insert(last_blank, "\n");
      line_start = last_blank + 1;
      last_blank = std::string::npos;
      used = 0;
    }
  }
  return out;
}

// Fields an RFC 5322 message has at most once: two inner values of one of
// them have no single display, so neither is restored.
bool SingleInstance(const std::string& name) {
  return !SameName(name, "Comments") && !SameName(name, "Keywords");
}

// RFC 9788 header protection restore (docs/decryption.md): payload is the
// decrypted entity or, when that is a signature, the content it signs. For
// an hp="cipher" payload, every field HeadersToRestore() lists replaces the
// outer fields of its name: *deletes removes those (highest ordinal first),
// *appends adds the inner values at the end (our Authentication-Results,
// inserted at the top, stays first). Defence in depth on top of
// HeadersToRestore: only names of the protected list
// (IsProtectedHeaderName), never From: or Sender: (the verdict binds the
// signer to the outer From:, which must stay what was judged); nor a value
// with a line over 998 octets that no blank lets us fold. *log and
// *detail: the log's hp_restored= (names joined by "+") and hp_restored_why=.
void PlanRestore(const Transaction& tx, std::string_view payload, std::vector<HeaderEdit>* deletes,
                 std::vector<HeaderEdit>* appends, std::string* log, std::string* detail) {
  HpInbound in;
  ParseProtectedHeaders(payload, &in);
  if (in.ambiguous) {
    // Some reading of the block shows protected fields we cannot judge.
    *log = "no";
    *detail = "protected-headers-ambiguous:" + in.problem;  // one token, as hp= writes it
    return;
  }
  if (in.mode != HpMode::kCipher) return;
  const std::vector<MimeHeader> restore = HeadersToRestore(in);
  std::vector<std::string> names, skipped;
  for (const MimeHeader& h : restore) {
    if (std::find_if(names.begin(), names.end(), [&](const std::string& n) {
          return SameName(n, h.name.c_str());
        }) != names.end())
      continue;
    names.push_back(h.name);
  }
  std::string restored;
  for (const std::string& name : names) {
    const std::vector<std::string> values = FieldValues(restore, name);
    std::vector<std::string> folded;
    bool fits = true;  // every line within RFC 5322's 998 octets
    for (const std::string& v : values) {
      folded.push_back(RestoredValue(v, name.size() + 2));
      size_t line = name.size() + 2;
      for (char c : folded.back()) {
        line = c == '\n' ? 0 : line + 1;
        fits = fits && line <= 998;
      }
    }
    if (!IsProtectedHeaderName(name) || SameName(name, "From") || SameName(name, "Sender") ||
        (SingleInstance(name) && values.size() != 1) || !fits) {
      skipped.push_back(name);
      continue;
    }
    int n = 0;
    for (const Header& h : tx.headers) n += SameName(h.name, name.c_str());
    for (; n > 0; --n) deletes->push_back({HeaderEdit::Kind::kDelete, name, "", n});
    for (const std::string& v : folded) appends->push_back({HeaderEdit::Kind::kAppend, name, v, 0});
    restored += (restored.empty() ? "" : "+") + name;
  }
  *log = restored.empty() ? "none" : restored;
  for (const std::string& name : skipped)
    *detail += (detail->empty() ? "not-restored:" : "+") + name;
}

}  // namespace

DecryptionAttempt TryDecrypt(const Runtime& rt, const Transaction& tx) {
  if (!rt.any_decryption || tx.rcpts.empty()) return {};
  bool any_domain = false;
  for (const std::string& r : tx.rcpts)
    any_domain = any_domain || rt.RulesFor(DomainOf(EnvelopeAddress(r))).decrypt;
  if (!any_domain) return {};  // nothing of ours to decrypt for: judged as before
  if (tx.truncated || tx.message_size > rt.max_message_size) {
    // Not read whole (and not parsed: it may be huge); the label alone says
    // why an envelope stays closed.
    const std::vector<std::string> types = HeaderValues(tx, "Content-Type");
    const bool labelled = !types.empty() && strcasestr(types[0].c_str(), "pkcs7-mime") != nullptr;
    return labelled ? Kept("message-too-large") : DecryptionAttempt();
  }
  std::string der;
  bool wrapped = false;
  if (!EncryptedCmsDer(tx, rt.limits, &der)) {
    Transaction carrier;
    if (!SignedEnvelope(tx, rt.limits, &carrier) || !EncryptedCmsDer(carrier, rt.limits, &der))
      return {};
    wrapped = true;
  }
  EnvelopeFacts facts;
  Status st = ReadEnvelope(der, &facts);
  if (!st.ok()) {
    DecryptionAttempt a = Kept("");
    SplitReason(st, &a.reason, &a.detail);
    return a;
  }
  // The oracle rule: every recipient must be one of ours that the sender
  // encrypted to. Anyone else in the transaction would read the plaintext.
  std::vector<const Identity*> candidates;  // the first recipient's matching keys
  bool unauthenticated_ok = true;
  for (const std::string& arg : tx.rcpts) {
    const std::string r = EnvelopeAddress(arg);
    const DomainRules& rules = rt.RulesFor(DomainOf(r));
    if (!rules.decrypt) return Kept("recipient-domain-does-not-decrypt", r);
    if (rules.encrypt == EncryptMode::kRequired) return Kept("recipient-requires-encryption", r);
    unauthenticated_ok = unauthenticated_ok && rules.decrypt_unauthenticated;
    std::vector<const Identity*> matching;
    for (const Identity* k : rt.decryption_keys.For(r))
      if (EnvelopeNames(der, k->cert.get())) matching.push_back(k);
    if (matching.empty()) return Kept("recipient-without-matching-key", r);
    if (candidates.empty()) candidates = std::move(matching);
  }
  std::string plaintext, failure;
  const Identity* used = nullptr;
  for (const Identity* k : candidates) {
    st = DecryptEnvelope(der, k->cert.get(), k->key.get(), &plaintext);
    if (st.ok()) {
      used = k;
      break;
    }
    failure = st.message();
  }
  if (!used) {
    DecryptionAttempt a = Kept("");
    SplitReason(Status::InvalidInput(failure), &a.reason, &a.detail);
    return a;
  }

  DecryptionAttempt a;
  a.state = DecryptionAttempt::State::kDecrypted;
  a.wrapped = wrapped;
  a.authenticated = facts.authenticated;
  a.unauthenticated_ok = unauthenticated_ok;
  a.cipher = facts.cipher;
  a.key_fingerprint = CertFingerprint(used->cert.get());
  a.key_origin = used->origin;
  Transaction inner;
  ParseRawMessage(plaintext, &inner);
  Outcome edits;
  DeleteContentHeaders(tx, &edits);
  if (HeaderValues(tx, "MIME-Version").empty())
    edits.edits.push_back({HeaderEdit::Kind::kAppend, "MIME-Version", "1.0", 0});
  bool has_type = false;
  for (const Header& h : inner.headers) {
    if (!IsContentHeader(h.name)) continue;
    has_type = has_type || strcasecmp(h.name.c_str(), "Content-Type") == 0;
    edits.edits.push_back({HeaderEdit::Kind::kAppend, h.name, EditValue(h.value), 0});
  }
  // MIME's default, written out: the outer type said pkcs7-mime.
  if (!has_type)
    edits.edits.push_back(
        {HeaderEdit::Kind::kAppend, "Content-Type", "text/plain; charset=us-ascii", 0});
  a.delivered = tx;
  ApplyEdits(edits, &a.delivered);
  a.delivered.body = inner.body;
  a.delivered.message_size = WireMessage(a.delivered).size();
  // RFC 9788: an hp="cipher" payload's protected fields come back to the
  // outer header. Not in delivered: the verdict is reached on the message
  // as received (outer From:, Sender:), whatever the payload says.
  std::string signed_content;
  const bool is_signed = SignedContentOf(a.delivered, rt.limits, &signed_content);
  std::vector<HeaderEdit> hp_deletes, hp_appends;
  PlanRestore(tx, is_signed ? std::string_view(signed_content) : std::string_view(plaintext),
              &hp_deletes, &hp_appends, &a.hp_restored, &a.hp_restore_detail);
  // Deletions before additions, as HeaderEdit wants: edits.edits holds the
  // Content-* deletions first, then its additions.
  a.edits = std::move(hp_deletes);
  a.edits.insert(a.edits.end(), edits.edits.begin(), edits.edits.end());
  a.edits.insert(a.edits.end(), hp_appends.begin(), hp_appends.end());
  a.body = std::move(inner.body);
  return a;
}

}  // namespace smime
