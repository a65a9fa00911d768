// engine/decryption: see decryption.h.
#include "engine/decryption.h"

#include <string.h>
#include <strings.h>

#include "certdir/cert_store.h"
#include "cms/decrypt.h"
#include "engine/outbound.h"
#include "mime/address.h"
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

// Triple-wrapped mail (RFC 2634: signed, then encrypted, then signed): the
// top level is a signature (multipart/signed or opaque SignedData) whose
// signed content is one entity. *carrier is tx with that entity as its
// content (its Content-* headers and body), for EncryptedCmsDer's strict
// reading; the outer signature covers all of it, so no attacker part sits
// beside the envelope.
bool SignedEnvelope(const Transaction& tx, const MimeLimits& limits, Transaction* carrier) {
  // Most mail is neither: no second parse for it (docs/performance.md).
  const std::vector<std::string> types = HeaderValues(tx, "Content-Type");
  if (types.empty() || (!strcasestr(types[0].c_str(), "multipart/signed") &&
                        !strcasestr(types[0].c_str(), "pkcs7-mime")))
    return false;
  std::string entity;
  {
    const std::string wire = WireMessage(tx);
    SmimeLayout layout;
    if (!LocateSmime(wire, limits, &layout).ok()) return false;
    if (layout.kind == SmimeLayout::Kind::kClearSigned)
      entity.assign(layout.signed_content.data(), layout.signed_content.size());
    else if (layout.kind != SmimeLayout::Kind::kOpaque ||
             !SignedDataContent(layout.cms_der, &entity))
      return false;
  }
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
  // HOOK(header-protection, RFC 9788): the inner entity's non-Content-*
  // headers (hp="cipher" protected headers) are dropped here; restoring them
  // to the outer header belongs to mime/header_protection, called at this
  // point with tx's headers, inner.headers and a.edits.
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
  edits.replace_body = true;
  edits.body = std::move(inner.body);
  a.delivered = tx;
  ApplyEdits(edits, &a.delivered);
  a.delivered.message_size = WireMessage(a.delivered).size();
  a.edits = std::move(edits.edits);
  a.body = std::move(edits.body);
  return a;
}

}  // namespace smime
