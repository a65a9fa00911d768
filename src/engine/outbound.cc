// engine/outbound: see outbound.h. Every path ends in exactly one of:
// signed, passed on untouched (with the reason logged), tempfail or reject.
#include "engine/outbound.h"

#include <openssl/objects.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string_view>

#include "base/spool_buffer.h"
#include "base/text.h"
#include "cms/encrypt.h"
#include "cms/sign.h"
#include "engine/encryption.h"
#include "mime/address.h"
#include "mime/header_protection.h"
#include "mime/smime_locator.h"
#include "mime/smime_writer.h"
#include "policy/direction.h"

namespace smime {

namespace {

// "sha256" for SHA-256: the names signing_digest uses.
std::string DigestName(const EVP_MD* md) {
  std::string n = OBJ_nid2sn(EVP_MD_get_type(md));
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

std::string MediaType(const Transaction& tx) {
  for (const Header& h : tx.headers) {
    if (strcasecmp(h.name.c_str(), "Content-Type") != 0) continue;
    std::string t;
    for (char c : h.value) {
      if (c == ';') break;
      if (!std::isspace(static_cast<unsigned char>(c)))
        t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return t;
  }
  return "text/plain";
}

// "signed", "encrypted" or "" for mail we may sign.
std::string ExistingSmime(const Transaction& tx) {
  const std::string t = MediaType(tx);
  if (t == "multipart/signed") return "signed";
  if (t == "application/pkcs7-mime" || t == "application/x-pkcs7-mime") {
    for (const Header& h : tx.headers) {
      if (strcasecmp(h.name.c_str(), "Content-Type") != 0) continue;
      std::string v = h.value;
      std::transform(v.begin(), v.end(), v.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (v.find("signed-data") != std::string::npos) return "signed";
      break;
    }
    return "encrypted";
  }
  return "";
}

// Strict base64: the alphabet, '=' padding only at the very end, and
// whitespace between; anything else (or a wrong length) is not base64.
// Read in place (no copy without the whitespace).
bool StrictBase64Decode(const std::string& in, std::string* out) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t count = 0;
  for (char c : in) count += blank(c) ? 0 : 1;
  if (count == 0 || count % 4 != 0) return false;
  size_t pad = 0;  // '=' among the last two characters
  for (size_t i = in.size(), seen = 0; i > 0 && seen < 2; --i) {
    if (blank(in[i - 1])) continue;
    ++seen;
    if (in[i - 1] != '=') break;
    ++pad;
  }
  out->clear();
  out->reserve(count / 4 * 3);
  unsigned int acc = 0;
  int bits = 0;
  size_t index = 0;
  for (char c : in) {
    if (blank(c)) continue;
    if (index++ + pad >= count) break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return false;  // includes a '=' before the end
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// The single value of header name, or false when it is absent or repeated.
bool SingleHeader(const Transaction& tx, const char* name, std::string* value) {
  const std::vector<std::string> v = HeaderValues(tx, name);
  if (v.size() != 1) return false;
  *value = v[0];
  return true;
}

const char* UnauthorizedReplyCode(UnauthorizedAction a) {
  return a == UnauthorizedAction::kReject ? "550" : "451";
}

// A refusal after an if-possible message was left unsigned keeps why it was
// unsigned as unsigned_reason, beside the refusal's own reason
// (docs/logging.md, "A later step replaces a field").
void KeepUnsignedReason(Outcome* o) {
  if (FieldText(o->fields, "action") == "unsigned")
    RenameField(&o->fields, "reason", "unsigned_reason");
}

class Decision {
 public:
  explicit Decision(Outcome* o) : o_(o) {}

  // Passed on unchanged; reason says why.
  void Untouched(const std::string& action, const std::string& reason) {
    AppendField(&o_->fields, "action", action);
    AppendField(&o_->fields, "reason", reason);
  }

  // Signing was required and is impossible.
  void Refuse(Disposition d, const char* code, const char* xcode, const std::string& text,
              const std::string& reason) {
    o_->disposition = d;
    o_->reply_code = code;
    o_->reply_xcode = xcode;
    o_->reply_text = text;
    o_->severity = Severity::kError;
    KeepUnsignedReason(o_);
    AppendField(&o_->fields, "action", d == Disposition::kReject ? "reject" : "tempfail");
    AppendField(&o_->fields, "reason", reason);
  }

  // Required signing that cannot happen: refused, or unsigned for if-possible.
  void CannotSign(SignMode mode, const char* code, const char* xcode, const std::string& text,
                  const std::string& reason) {
    if (mode == SignMode::kIfPossible) {
      Untouched("unsigned", reason);
      return;
    }
    Refuse(code[0] == '5' ? Disposition::kReject : Disposition::kTempFail, code, xcode, text,
           reason);
  }

 private:
  Outcome* o_;
};

bool MaySignAs(const Runtime& rt, const Transaction& tx, const std::string& from) {
  if (!tx.sasl_user.empty()) return rt.signing_users.MayUse(tx.sasl_user, from);
  return CidrContains(rt.signing_relays, tx.client_addr);
}

// The message's Content-* headers, in order: they move into the signed or
// encrypted entity.
std::vector<MimeHeader> ContentHeaders(const Transaction& tx) {
  std::vector<MimeHeader> out;
  for (const Header& h : tx.headers)
    if (IsContentHeader(h.name)) out.push_back({h.name, h.value});
  return out;
}

// The slices in which spooled content is read back.
constexpr size_t kSpoolSlice = size_t{1} << 16;

// A slice of the new body: a view, a re-encoded entity (from offset skip
// on) that is written anew each time it is read, never held
// (mime/smime_writer SignableEntity::Write), or spooled content (an
// envelope's ciphertext) read back from its file.
struct Piece {
  Piece(std::string_view v) : view(v) {}    // NOLINT: implicit, like the views it stands for
  Piece(const std::string& s) : view(s) {}  // NOLINT
  Piece(const SignableEntity* e, size_t from) : entity(e), skip(from) {}
  explicit Piece(const SpoolBuffer* s) : spool(s) {}

  size_t size() const {
    if (spool) return spool->size();
    return entity ? entity->size() - skip : view.size();
  }
  bool Write(const std::function<bool(std::string_view)>& emit) const {
    if (spool) return spool->ForEachSlice(kSpoolSlice, emit).ok();
    if (entity) return entity->Write(emit, skip);
    return view.empty() || emit(view);
  }

  std::string_view view;
  const SignableEntity* entity = nullptr;
  size_t skip = 0;
  const SpoolBuffer* spool = nullptr;
};

// The payload root after its first consumed bytes (its old header block,
// replaced for header protection; 0: all of it) when e has no separate
// head, else e's body.
Piece EntityBody(const SignableEntity& e, size_t consumed) {
  if (!e.head.empty()) return Piece(e.body());
  if (e.streamed()) return Piece(&e, consumed);
  return Piece(e.body().substr(consumed));
}

// The content that replaces the message's: new Content-* headers (values
// folded with "\n\t", as HeaderEdit wants) and body. Memory (docs/
// performance.md): a signed body is not built until it is needed; it is the
// concatenation of pieces, views into the strings here and into the
// message's own body or a re-encoded entity produced as it is read (or the
// base64 lines of that concatenation, for an opaque signature), which
// encryption reads straight into the cipher and Emit writes once into the
// outcome's body, a spool (base/spool_buffer). An envelope is its DER
// prefix, its ciphertext (spooled as the cipher produces it) and its DER
// suffix, as base64 lines: never in memory as a whole either.
struct NewContent {
  bool changed = false;
  // Header protection (RFC 9788): the hp value this message's payload gets
  // (cipher exactly when it will be encrypted), whether the outer header
  // hides fields (header_protection = cipher), the payload root's new
  // header block, and the outer-header changes, made only once the message
  // is encrypted.
  HpMode hp = HpMode::kNone;
  bool hp_hide = false;
  std::string hp_head;
  HpPlan hp_plan;
  bool hp_outer_pending = false;
  std::vector<MimeHeader> headers;
  std::string body;  // the body, when pieces is empty
  std::vector<Piece> pieces;
  bool base64 = false;  // the body is Base64Lines of the pieces
  // What the pieces view.
  SignableEntity entity;
  std::string before, after;
  SpoolBuffer ciphertext;

  size_t BodySize() const {
    if (pieces.empty()) return body.size();
    size_t n = 0;
    for (const Piece& p : pieces) n += p.size();
    return base64 ? Base64LineWriter::EncodedSize(n) : n;
  }

  // Hands the body to emit in slices; false when emit fails.
  bool WriteBody(const std::function<bool(std::string_view)>& emit) const {
    if (pieces.empty()) return emit(body);
    if (!base64) {
      for (const Piece& p : pieces)
        if (!p.Write(emit)) return false;
      return true;
    }
    std::string chunk;
    Base64LineWriter w(&chunk);
    for (const Piece& p : pieces) {
      const bool ok = p.Write([&](std::string_view s) {
        for (size_t at = 0; at < s.size(); at += 1 << 16) {
          w.Write(s.substr(at, 1 << 16));
          if (!chunk.empty() && !emit(chunk)) return false;
          chunk.clear();
        }
        return true;
      });
      if (!ok) return false;
    }
    w.Finish();
    return chunk.empty() || emit(chunk);
  }

  // Sets the body to b and lets go of the pieces and what they viewed.
  void Replace(std::string b) {
    body = std::move(b);
    pieces.clear();
    base64 = false;
    entity = SignableEntity();
    std::string().swap(before);
    std::string().swap(after);
    std::string().swap(hp_head);
    ciphertext = SpoolBuffer();
  }

  // True when a spool failed (not a re-encoded entity): the output's, or
  // the ciphertext's on reading it back.
  const SpoolBuffer* FailedSpool(const SpoolBuffer& out) const {
    if (out.failed()) return &out;
    return ciphertext.failed() ? &ciphertext : nullptr;
  }
};

// A spool that failed (state_dir full or unwritable) is not a bug: a
// tempfail naming the reason, 452 4.3.1 for a full state_dir (RFC 3463:
// mail system full), 451 4.3.0 otherwise, as for a body the milter cannot
// spool (docs/performance.md, "Memory per message").
void SpoolRefusal(const SpoolBuffer& failed, Outcome* o) {
  const bool full = std::string_view(failed.FailureReason()) == "spool-full";
  o->AddNote(failed.failure().message());
  Decision(o).Refuse(Disposition::kTempFail, full ? "452" : "451", full ? "4.3.1" : "4.3.0",
                     full ? "Insufficient system storage in the S/MIME filter, try again later"
                          : "Internal error in the S/MIME filter, try again later",
                     failed.FailureReason());
}

// The spool for large content of this message: state_dir, beyond
// spool_memory_limit.
SpoolBuffer MessageSpool(const Runtime& rt, const char* prefix) {
  return SpoolBuffer(rt.spool_dir, rt.spool_memory_limit, prefix);
}

// Header protection for this message: the lowest level among its
// recipients' domains (docs/header-protection.md).
HpMode HeaderProtectionFor(const Runtime& rt, const Transaction& tx) {
  if (tx.rcpts.empty()) return HpMode::kNone;
  HpMode m = HpMode::kCipher;
  for (const std::string& r : tx.rcpts)
    m = MinHpMode(m, rt.RulesFor(DomainOf(r)).header_protection);
  return m;
}

// The payload root's new header block for header protection at level
// c->hp, from the header block at the start of block; *consumed is the
// length of the block it replaces. False (and a log field) when the payload
// cannot take it, e.g. an RFC 9788 client already protected it.
bool ProtectHeaders(const Runtime& rt, const Transaction& tx, std::string_view block, NewContent* c,
                    size_t* consumed, Outcome* o) {
  std::vector<MimeHeader> all;
  for (const Header& h : tx.headers) all.push_back({h.name, h.value});
  c->hp_plan = PlanHeaderProtection(all, c->hp, rt.hp_subject, c->hp_hide);
  std::string legacy_display;
  Status st = ProtectPayloadHead(block, c->hp_plan, &c->hp_head, consumed, &legacy_display);
  if (!st.ok()) {
    // Nothing protected: nothing may be hidden either.
    AppendField(&o->fields, "hp", "none");
    AppendField(&o->fields, "hp_why", st.message());
    c->hp = HpMode::kNone;
    c->hp_plan = HpPlan();
    c->hp_head.clear();
    return false;
  }
  AppendField(&o->fields, "hp", HpModeName(c->hp));
  // RFC 9788 section 5.2.2: whether the payload shows the hidden fields to
  // readers without header protection, and why not.
  if (!legacy_display.empty()) AppendField(&o->fields, "hp_legacy_display", legacy_display);
  return true;
}

// Header protection: every outer field the policy changed or removed is deleted
// (highest ordinal first); Emit appends the changed ones.
void HpOuterDeletes(const Transaction& tx, const HpPlan& plan, Outcome* o) {
  for (const std::string& name : plan.outer_names) {
    int n = 0;
    for (const Header& h : tx.headers) n += strcasecmp(h.name.c_str(), name.c_str()) == 0;
    for (; n > 0; --n) o->edits.push_back({HeaderEdit::Kind::kDelete, name, "", n});
  }
}

std::string WithoutLeadingBlank(const std::string& v) {
  return !v.empty() && (v[0] == ' ' || v[0] == '\t') ? v.substr(1) : v;
}

// "\n\t"-folded header value as it goes on the wire inside an entity.
std::string WireFolded(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\n') out += "\r";
    out.push_back(ch);
  }
  return out;
}

// What building the entity changed, and what it had to leave (docs/signing.md).
void LogEntityChanges(const SignableEntity& entity, Outcome* o) {
  AppendField(&o->fields, "reencoded", EntityChangeList(entity.changes));
  // Signed anyway: refusing would hold mail over a header that 8BITMIME
  // relays (nearly all today) carry unchanged; the log says it.
  if (entity.eight_bit_kept) AppendField(&o->fields, "eightbit", "kept");
  if (!entity.relay_unsafe.empty()) AppendField(&o->fields, "relay_unsafe", entity.relay_unsafe);
}

// Signing per the From: domain's policy. On return either o is final (a
// refusal: disposition set) or *c holds the signed content (c->changed) or
// nothing changed (fields say why).
void SignStep(const Runtime& rt, const Transaction& tx, const Clock& clock,
              const Deadline& deadline, const std::string& why, Outcome* o, NewContent* c) {
  Decision d(o);
  std::string from;
  const std::string from_problem = SingleMailbox(HeaderValues(tx, "From"), &from);
  AppendAddressField(&o->fields, "from", from);
  if (!tx.sasl_user.empty()) AppendField(&o->fields, "login", tx.sasl_user);
  AppendDirectionWhy(tx, why, &o->fields);

  if (!from_problem.empty()) {
    // No single From: to sign as. The strictest policy among every domain
    // the header (and the envelope sender) names decides, so that adding a
    // second From: cannot step around a domain's sign = clear.
    std::vector<std::string> named = AllMailboxes(HeaderValues(tx, "From"));
    named.push_back(tx.mail_from);
    SignMode strictest = SignMode::kNone;
    for (const std::string& a : named) {
      if (DomainOf(a).empty()) continue;
      SignMode m = rt.RulesFor(DomainOf(a)).sign;
      if (m == SignMode::kClear || m == SignMode::kOpaque)
        strictest = m;
      else if (m == SignMode::kIfPossible && strictest == SignMode::kNone)
        strictest = m;
    }
    AppendField(&o->fields, "sign", SignModeName(strictest));
    if (strictest == SignMode::kNone) return d.Untouched("none", "policy");
    return d.CannotSign(strictest, "550", "5.7.1",
                        "Cannot sign: the message needs exactly one From: address", from_problem);
  }
  const DomainRules& rules = rt.RulesFor(DomainOf(from));
  const SignMode mode = rules.sign;
  AppendField(&o->fields, "sign", SignModeName(mode));
  if (mode == SignMode::kNone) return d.Untouched("none", "policy");
  // Authorisation comes before the already-S/MIME pass-through: otherwise a
  // Content-Type claiming a signature would carry any From: past it.
  const bool authorized = MaySignAs(rt, tx, from);
  const std::string existing = ExistingSmime(tx);
  if (authorized && !existing.empty()) return d.Untouched("none", "already-" + existing);
  if (!authorized) {
    const std::string reason = "sender-not-authorized";
    if (mode == SignMode::kIfPossible || rules.unauthorized == UnauthorizedAction::kUnsigned) {
      o->severity = Severity::kWarning;
      return d.Untouched("unsigned", reason);
    }
    const std::string who = tx.sasl_user.empty() ? "this client" : "login " + tx.sasl_user;
    return d.Refuse(rules.unauthorized == UnauthorizedAction::kReject ? Disposition::kReject
                                                                      : Disposition::kTempFail,
                    UnauthorizedReplyCode(rules.unauthorized),
                    rules.unauthorized == UnauthorizedAction::kReject ? "5.7.1" : "4.7.1",
                    SanitizeHeaderText(who, 100) + " may not send signed mail as " +
                        SanitizeHeaderText(from, 200),
                    reason);
  }
  const Identity* id = rt.identities.Find(from);
  if (!id)
    return d.CannotSign(mode, "451", "4.7.0",
                        "No S/MIME signing identity for " + SanitizeHeaderText(from, 200),
                        "no-identity");
  AppendField(&o->fields, "identity", id->address);
  const std::time_t now = clock.Now();
  if (now > id->not_after)
    return d.CannotSign(
        mode, "451", "4.7.0",
        "The S/MIME signing identity for " + SanitizeHeaderText(from, 200) + " has expired",
        "identity-expired");
  if (now < id->not_before)
    return d.CannotSign(
        mode, "451", "4.7.0",
        "The S/MIME signing identity for " + SanitizeHeaderText(from, 200) + " is not valid yet",
        "identity-not-yet-valid");
  if (rules.revocation_mode != RevocationMode::kOff) {
    X509StackPtr hints(sk_X509_new_null());
    for (const X509Ptr& x : id->chain) sk_X509_push(hints.get(), x.get());
    ChainResult chain = rt.trust.VerifyChain(id->cert.get(), hints.get(), now);
    sk_X509_zero(hints.get());  // borrowed pointers
    if (chain.trusted) {
      RevocationResult rev =
          rt.revocation->Check(chain.chain.get(), nullptr, now, deadline).overall;
      AppendField(&o->fields, "revocation", RevocationStatusName(rev.status));
      const std::string source = RevocationLogSource(rev);
      if (!source.empty()) AppendField(&o->fields, "revocation_source", source);
      if (rev.status == RevocationStatus::kRevoked)
        return d.CannotSign(mode, "451", "4.7.0",
                            "The S/MIME signing identity for " + SanitizeHeaderText(from, 200) +
                                " has been revoked",
                            "identity-revoked");
    } else {
      AppendField(&o->fields, "revocation", "not-checked");
    }
  }
  if (tx.truncated || tx.message_size > rt.max_message_size)
    return d.CannotSign(mode, "552", "5.3.4", "Message too large to sign", "message-too-large");

  bool opaque = mode == SignMode::kOpaque;
  for (const std::string& r : tx.rcpts)
    if (rt.RulesFor(DomainOf(r)).recipient_opaque) opaque = true;

  const std::vector<MimeHeader> content_headers = ContentHeaders(tx);
  SignableEntity& entity = c->entity;
  Status st = BuildSignableEntity(content_headers, tx.body, rt.limits, &entity);
  if (!st.ok())
    return d.CannotSign(mode, "554", "5.6.0", "Cannot sign malformed MIME: " + st.message(),
                        st.message());

  // The payload root as signed: the entity, or with header protection its
  // new header block and the rest of it.
  std::string_view head_piece = entity.head;
  size_t consumed = 0;
  if (c->hp != HpMode::kNone && ProtectHeaders(rt, tx, entity.Lead(), c, &consumed, o))
    head_piece = c->hp_head;
  else
    consumed = 0;
  const Piece body_piece = EntityBody(entity, consumed);

  SignParams p;
  p.cert = id->cert.get();
  p.key = id->key.get();
  for (const X509Ptr& x : id->chain) p.chain.push_back(x.get());
  // identities encryption_cert=FILE, while it is valid: an expired one named
  // in the key preference would leave replies without a usable key.
  std::time_t at = now;
  if (id->encryption_cert &&
      X509_cmp_time(X509_get0_notAfter(id->encryption_cert.get()), &at) > 0 &&
      X509_cmp_time(X509_get0_notBefore(id->encryption_cert.get()), &at) < 0)
    p.encryption_cert = id->encryption_cert.get();
  p.md = EffectiveDigest(p.key, EVP_get_digestbyname(rules.signing_digest.c_str()));
  p.rsa_padding = rules.rsa_padding;
  p.detached = !opaque;
  p.signing_time = now;
  p.memo = id->sign_memo.get();
  std::string prefix, suffix;
  // A re-encoded entity is encoded into the digest here and again into the
  // new body (Emit), never held; Write() fails should the two differ.
  st = SignStream(
      [&](const std::function<bool(std::string_view)>& emit) {
        return (head_piece.empty() || emit(head_piece)) && body_piece.Write(emit);
      },
      head_piece.size() + body_piece.size(), p, &prefix, &suffix);
  if (!st.ok()) {
    o->AddNote(st.message());
    c->Replace(std::string());
    return d.Refuse(Disposition::kTempFail, "451", "4.3.0", "Signing failed, try again later",
                    "signing-failed");
  }

  c->changed = true;
  if (opaque) {
    c->headers = {{"Content-Type", OpaqueSignedContentType()},
                  {"Content-Transfer-Encoding", "base64"},
                  {"Content-Disposition", "attachment; filename=\"smime.p7m\""}};
    // The DER is prefix, the entity, suffix: encoded as it goes.
    c->before = std::move(prefix);
    c->after = std::move(suffix);
    c->pieces = {c->before, head_piece, body_piece, c->after};
    c->base64 = true;
  } else {
    std::string boundary;
    do {
      boundary = NewBoundary({head_piece, body_piece.view});
    } while (body_piece.entity && body_piece.entity->Contains(boundary));
    c->headers = {{"Content-Type", ClearSignedContentType(MicalgName(p.md), boundary)}};
    c->before = ClearSignedOpening(boundary);
    c->after = ClearSignedClosing(prefix, boundary);
    c->pieces = {c->before, head_piece, body_piece, c->after};
  }
  AppendField(&o->fields, "action", "signed");
  AppendField(&o->fields, "format", opaque ? "opaque" : "clear");
  AppendField(&o->fields, "digest", DigestName(p.md));
  LogEntityChanges(entity, o);
}

// Encryption per the recipients' domains (engine/encryption). On return o
// is final (a refusal) or *c holds the enveloped content, or is unchanged.
// planned: the plan when OutboundOutcome made it first (header protection).
void EncryptStep(const Runtime& rt, const Transaction& tx, const Clock& clock,
                 const Deadline& deadline, Outcome* o, NewContent* c,
                 std::optional<EncryptionPlan> planned = std::nullopt) {
  if (!rt.any_encryption) return;
  EncryptionPlan plan = planned ? std::move(*planned) : PlanEncryption(rt, tx, clock, deadline);
  Decision d(o);
  if (plan.refuse) {
    return d.Refuse(plan.reply_code[0] == '5' ? Disposition::kReject : Disposition::kTempFail,
                    plan.reply_code.c_str(), plan.reply_xcode.c_str(), plan.reply_text,
                    plan.reason);
  }
  if (!plan.encrypt) {
    AppendField(&o->fields, "encryption", "none");
    AppendField(&o->fields, "encrypt_why", plan.why);
    return;
  }
  if (!c->changed && IsEncryptedCms(tx, rt.limits)) {
    AppendField(&o->fields, "encryption", "none");
    AppendField(&o->fields, "encrypt_why", "already-encrypted");
    return;
  }
  if (tx.truncated || tx.message_size > rt.max_message_size) {
    if (plan.why == "opportunistic") {
      AppendField(&o->fields, "encryption", "none");
      AppendField(&o->fields, "encrypt_why", "message-too-large");
      return;
    }
    return d.Refuse(Disposition::kReject, "552", "5.3.4", "Message too large to encrypt",
                    "message-too-large");
  }
  // The entity to encrypt: Content-* headers, blank line, body, handed to
  // the cipher in pieces (the body is never copied first). Unsigned
  // content goes through the signing path's entity builder, so that its
  // charset and transfer encoding are right and it is 7-bit like signed
  // content (docs/encryption.md).
  std::string head;
  if (c->changed) {
    for (const MimeHeader& h : c->headers) head += h.name + ": " + WireFolded(h.value) + "\r\n";
    head += "\r\n";
  } else {
    Status st = BuildSignableEntity(ContentHeaders(tx), tx.body, rt.limits, &c->entity);
    if (st.ok()) {
      LogEntityChanges(c->entity, o);
      c->pieces = {c->entity.head, EntityBody(c->entity, 0)};
      // Encrypted, not signed: this entity is the payload root (RFC 9788).
      size_t consumed = 0;
      if (c->hp != HpMode::kNone && ExistingSmime(tx).empty() &&
          ProtectHeaders(rt, tx, c->entity.Lead(), c, &consumed, o))
        c->pieces = {c->hp_head, EntityBody(c->entity, consumed)};
    } else {
      // Beyond the MIME limits or unparseable: encrypted as it came (the
      // ciphertext itself is 7-bit), as before this builder served here.
      AppendField(&o->fields, "reencoded", "no");
      AppendField(&o->fields, "reencoded_why", st.message());
      bool has_type = false;
      for (const MimeHeader& h : ContentHeaders(tx)) {
        head += h.name + ":" + h.value + "\r\n";
        has_type = has_type || strcasecmp(h.name.c_str(), "Content-Type") == 0;
      }
      if (!has_type) head = "Content-Type: text/plain; charset=unknown-8bit\r\n" + head;
      head += "\r\n";
      c->pieces = {tx.body};  // viewed, not copied
      size_t consumed = 0;
      if (c->hp != HpMode::kNone && ExistingSmime(tx).empty() &&
          ProtectHeaders(rt, tx, head, c, &consumed, o))
        head = c->hp_head;
    }
  }
  const size_t size = head.size() + c->BodySize();
  EncryptParams p;
  p.cipher = plan.cipher;
  for (size_t i = 0; i < plan.certs.size(); ++i)
    p.recipients.push_back({plan.certs[i].cert.get(), plan.transports[i]});
  // The ciphertext goes to a spool as the cipher produces it; the new body
  // is its base64, written by Emit.
  SpoolBuffer ciphertext = MessageSpool(rt, "cipher");
  std::string der_prefix, der_suffix;
  Status st = EncryptToSink(
      [&](const std::function<bool(std::string_view)>& emit) {
        if (!emit(head)) return false;
        return c->WriteBody(emit);
      },
      size, p, [&ciphertext](std::string_view s) { return ciphertext.Append(s).ok(); }, &der_prefix,
      &der_suffix);
  if (!st.ok()) {
    if (ciphertext.failed()) return SpoolRefusal(ciphertext, o);
    o->AddNote(st.message());
    return d.Refuse(Disposition::kTempFail, "451", "4.3.0", "Encryption failed, try again later",
                    "encryption-failed");
  }
  const bool auth = IsAuthenticated(plan.cipher);
  c->changed = true;
  c->headers = {{"Content-Type", std::string("application/pkcs7-mime; smime-type=") +
                                     (auth ? "authEnveloped-data" : "enveloped-data") +
                                     "; name=\"smime.p7m\""},
                {"Content-Transfer-Encoding", "base64"},
                {"Content-Disposition", "attachment; filename=\"smime.p7m\""}};
  // What was signed (and the views into the message) is let go of first.
  c->Replace(std::string());
  c->before = std::move(der_prefix);
  c->after = std::move(der_suffix);
  c->ciphertext = std::move(ciphertext);
  c->pieces = {c->before, Piece(&c->ciphertext), c->after};
  c->base64 = true;
  c->hp_outer_pending = c->hp != HpMode::kNone && !c->hp_plan.outer_names.empty();
  AppendField(&o->fields, "encryption", ContentCipherName(plan.cipher));
  AppendField(&o->fields, "recipients", std::to_string(plan.certs.size()));
  AppendField(&o->fields, "encrypt_why", plan.why);
}

// Replaces the message's Content-* headers and body with c. The new body
// is written once, into a spool (in memory up to spool_memory_limit, then
// a private file in state_dir) that the milter and `smimectl process` only
// copy out; every failure to build it is a refusal here, before anything
// reaches the MTA.
void Emit(const Runtime& rt, const Transaction& tx, NewContent* c, Outcome* o) {
  if (!c->changed) return;
  SpoolBuffer body = MessageSpool(rt, "body");
  const bool written = c->WriteBody([&body](std::string_view s) { return body.Append(s).ok(); });
  if (!written) {
    if (const SpoolBuffer* failed = c->FailedSpool(body)) return SpoolRefusal(*failed, o);
    // A re-encoded entity written otherwise than it was signed or
    // encrypted: nothing goes out that does not match.
    Decision d(o);
    return d.Refuse(Disposition::kTempFail, "451", "4.3.0",
                    "Cannot rewrite the message, try again later", "entity-rewrite-failed");
  }
  c->Replace(std::string());
  DeleteContentHeaders(tx, o);
  if (c->hp_outer_pending) HpOuterDeletes(tx, c->hp_plan, o);
  if (HeaderValues(tx, "MIME-Version").empty())
    o->edits.push_back({HeaderEdit::Kind::kAppend, "MIME-Version", "1.0", 0});
  for (const MimeHeader& h : c->headers)
    o->edits.push_back({HeaderEdit::Kind::kAppend, h.name, h.value, 0});
  if (c->hp_outer_pending)
    for (const MimeHeader& h : c->hp_plan.outer_fields)
      o->edits.push_back({HeaderEdit::Kind::kAppend, h.name, WithoutLeadingBlank(h.value), 0});
  o->replace_body = true;
  o->body = std::move(body);
}

}  // namespace

// True only when the message is exactly one CMS EnvelopedData or
// AuthEnvelopedData and nothing else: one Content-Type, application/
// pkcs7-mime at the top level; one Content-Transfer-Encoding, base64; a body
// of nothing but base64 and whitespace, decoding to the very bytes GMime
// decodes, which parse as one DER ContentInfo of an enveloped type with no
// byte after it. A label alone (or compressed-data, certs-only, an
// envelope followed by clear text) must not let content that has to be
// encrypted pass in clear.
bool EncryptedCmsDer(const Transaction& tx, const MimeLimits& limits, std::string* der_out) {
  std::string type, cte;
  if (!SingleHeader(tx, "Content-Type", &type) ||
      !SingleHeader(tx, "Content-Transfer-Encoding", &cte))
    return false;
  const std::string t = MediaType(tx);
  if (t != "application/pkcs7-mime" && t != "application/x-pkcs7-mime") return false;
  cte.erase(
      std::remove_if(cte.begin(), cte.end(), [](unsigned char c) { return std::isspace(c) != 0; }),
      cte.end());
  if (strcasecmp(cte.c_str(), "base64") != 0) return false;
  // GMime's reading first, with the wire form let go of before our own
  // decoding (docs/performance.md): at most the body, the wire form and one
  // decoded copy, or the body and two decoded copies, at a time.
  SmimeLayout layout;
  {
    const std::string wire = WireMessage(tx);
    if (!LocateSmime(wire, limits, &layout).ok() || layout.kind != SmimeLayout::Kind::kOpaque)
      return false;
  }
  std::string der;
  if (!StrictBase64Decode(tx.body, &der) || layout.cms_der != der) return false;
  // Equal: GMime's copy goes before OpenSSL parses ours, which copies the
  // encrypted content once more (the body, one decoded copy and the parse).
  std::string().swap(layout.cms_der);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  const int nid = cms ? OBJ_obj2nid(CMS_get0_type(cms.get())) : NID_undef;
  DrainOpensslErrors();
  if (!cms || p != end) return false;  // trailing bytes after the DER
  if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData) return false;
  if (der_out) *der_out = std::move(der);
  return true;
}

bool IsEncryptedCms(const Transaction& tx, const MimeLimits& limits) {
  return EncryptedCmsDer(tx, limits, nullptr);
}

// Deletes every Content-* header (highest ordinal of each name first, so the
// ordinals of earlier ones stay valid).
void DeleteContentHeaders(const Transaction& tx, Outcome* o) {
  std::vector<std::pair<std::string, int>> doomed;
  std::vector<std::pair<std::string, int>> counts;
  for (const Header& h : tx.headers) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) {
      return strcasecmp(c.first.c_str(), h.name.c_str()) == 0;
    });
    if (it == counts.end()) it = counts.insert(counts.end(), {h.name, 0});
    ++it->second;
    if (IsContentHeader(h.name)) doomed.push_back({h.name, it->second});
  }
  for (auto it = doomed.rbegin(); it != doomed.rend(); ++it)
    o->edits.push_back({HeaderEdit::Kind::kDelete, it->first, "", it->second});
}

void EncryptForRecipients(const Runtime& rt, const Transaction& tx, const Clock& clock,
                          const Deadline& deadline, Outcome* o) {
  if (o->disposition != Disposition::kAccept) return;
  NewContent c;
  EncryptStep(rt, tx, clock, deadline, o, &c);
  if (o->disposition != Disposition::kAccept) return;
  Emit(rt, tx, &c, o);
}

void OutboundOutcome(const Runtime& rt, const Transaction& tx, const Clock& clock,
                     const Deadline& deadline, const std::string& why, Outcome* o) {
  o->event = "outbound";
  NewContent c;
  // hp="cipher" exactly for mail that will be encrypted, so with header
  // protection the encryption plan comes first (docs/header-protection.md).
  const HpMode level = HeaderProtectionFor(rt, tx);
  std::optional<EncryptionPlan> plan;
  if (level != HpMode::kNone && rt.any_encryption) plan = PlanEncryption(rt, tx, clock, deadline);
  const bool encrypted = plan && plan->encrypt && !plan->refuse;
  c.hp = level == HpMode::kNone ? HpMode::kNone : encrypted ? HpMode::kCipher : HpMode::kClear;
  c.hp_hide = level == HpMode::kCipher && encrypted;
  SignStep(rt, tx, clock, deadline, why, o, &c);
  if (o->disposition != Disposition::kAccept) return;
  EncryptStep(rt, tx, clock, deadline, o, &c, std::move(plan));
  if (o->disposition != Disposition::kAccept) return;
  Emit(rt, tx, &c, o);
}

}  // namespace smime
