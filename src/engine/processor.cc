// engine/processor: see processor.h. The inbound verdict follows
// SMIME-RULES.md "When may the verdict be pass?"; each rule that fails names
// itself in the reason= property and in the log.
#include "engine/processor.h"

#include <openssl/objects.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <exception>

#include "certdir/smimea_source.h"
#include "cms/cert_cache.h"
#include "cms/signed_data.h"
#include "engine/decryption.h"
#include "engine/outbound.h"
#include "mime/address.h"
#include "mime/header_protection.h"
#include "mime/smime_locator.h"
#include "trust/cert_info.h"
#include "trust/path_algorithms.h"

namespace smime {

namespace {

constexpr const char* kArHeader = "Authentication-Results";

// "certificate has expired" -> "certificate-has-expired".
std::string Slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u))
      out.push_back(static_cast<char>(std::tolower(u)));
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

SignatureResult Clause(AuthResult result, const std::string& reason, const std::string& part) {
  SignatureResult r;
  r.result = result;
  r.reason = reason;
  r.part = part;
  return r;
}

// Worst result first: a message is pass only if every clause is pass.
AuthResult Aggregate(const std::vector<SignatureResult>& results) {
  if (results.empty()) return AuthResult::kNone;
  static const AuthResult kOrder[] = {AuthResult::kFail,      AuthResult::kPermError,
                                      AuthResult::kTempError, AuthResult::kPolicy,
                                      AuthResult::kNeutral,   AuthResult::kNone};
  for (AuthResult r : kOrder)
    for (const SignatureResult& s : results)
      if (s.result == r) return r;
  return AuthResult::kPass;
}

struct SignerLog {
  std::string signer;
  std::string chain = "n/a";
  std::string revocation = "not-checked";
  std::string revocation_via;  // "ocsp", "crl", "cache" or ""
  std::string revocation_detail;
  std::string harvest_error;                    // "" unless storing the certificate failed
  std::vector<std::shared_ptr<X509>> path_cas;  // intermediates of the verified chain
  // What our store supplied: "certificate", "intermediates", both
  // ("certificate+intermediates") or "".
  std::string from_store;
  std::string aia;       // AiaResult outcome when AIA was consulted, else ""
  std::string aia_url;   // the caIssuers URL consulted
  std::string aia_why;   // the fetcher's words for a failure
  std::string aia_path;  // the completed path still broke this rule
};

// The store's certificates for the author (From:, and Sender: when it may
// sign instead): candidates for a SignerInfo whose certificate the message
// lacks (docs/verification.md, "Certificates from our store"). Null when
// there are none.
X509StackPtr StoreSigners(const Runtime& rt, const Transaction& tx, const std::string& from,
                          const Deadline& deadline) {
  if (!rt.cert_store) return nullptr;
  std::vector<std::string> who = {from};
  std::string sender;
  if (rt.RulesFor(DomainOf(from)).match_sender_header &&
      IdentityMailbox(HeaderValues(tx, "Sender"), "sender", &sender).empty())
    who.push_back(sender);
  X509StackPtr out(sk_X509_new_null());
  for (const std::string& a : who) {
    std::vector<CertStore::Row> rows;
    if (a.empty() || !out || !rt.cert_store->LookupWithin(a, deadline, &rows).ok()) continue;
    for (const CertStore::Row& r : rows) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
      X509Ptr c = CertCache::Shared().Parse(p, r.der.size());
      if (c && sk_X509_push(out.get(), c.get()) > 0) c.release();
    }
  }
  DrainOpensslErrors();
  return out && sk_X509_num(out.get()) > 0 ? std::move(out) : nullptr;
}

// The certificate at the top of what hints build above cert: the one whose
// issuer is missing (cert itself when hints hold none of its issuers).
X509* TopOfPath(X509* cert, STACK_OF(X509) * hints) {
  X509* top = cert;
  for (int depth = 0; depth < 8; ++depth) {
    X509* up = nullptr;
    for (int i = 0; i < sk_X509_num(hints) && !up; ++i) {
      X509* c = sk_X509_value(hints, i);
      if (X509_cmp(c, top) != 0 && X509_check_issued(c, top) == X509_V_OK) up = c;
    }
    if (!up) break;
    top = up;
  }
  DrainOpensslErrors();
  return top;
}

bool IssuerMissing(int error) {
  return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
}

// VerifyChain with the message's certificates as hints; when they do not
// complete the path, again with the CAs our store holds above the signer and
// above each of them (admin-added and harvested intermediates), as untrusted
// hints too; when an issuer is still missing, with the issuer fetched from
// the caIssuers URL of the certificate that lacks it (trust/aia_fetch: one
// request per message, *aia_budget; cached answers may complete a few more
// levels). The anchors alone decide trust.
ChainResult CompleteChain(const Runtime& rt, X509* cert, STACK_OF(X509) * certs, std::time_t now,
                          const Deadline& deadline, int* aia_budget, SignerLog* log) {
  ChainResult first = rt.trust.VerifyChain(cert, certs, now);
  if (first.trusted) return first;
  X509StackPtr hints(sk_X509_new_null());
  if (!hints) return first;
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    if (sk_X509_push(hints.get(), c) > 0) X509_up_ref(c);
  }
  int error = first.error;
  if (rt.cert_store) {
    std::vector<X509Ptr> found;
    // Hints only: a failure (the store unreachable, the deadline) leaves none.
    rt.cert_store->IssuersOf(cert, deadline, &found);
    for (int i = 0; i < sk_X509_num(certs) && i < 8; ++i)
      rt.cert_store->IssuersOf(sk_X509_value(certs, i), deadline, &found);
    if (!found.empty()) {
      for (X509Ptr& c : found)
        if (sk_X509_push(hints.get(), c.get()) > 0) c.release();
      ChainResult second = rt.trust.VerifyChain(cert, hints.get(), now);
      if (second.trusted) {
        log->from_store += log->from_store.empty() ? "intermediates" : "+intermediates";
        return second;
      }
      error = second.error;
    }
  }
  if (!rt.aia || !IssuerMissing(error)) return first;
  for (int level = 0; level < 4; ++level) {
    AiaResult a = rt.aia->IssuersOf(TopOfPath(cert, hints.get()), now, deadline, aia_budget);
    if (a.outcome.empty()) break;  // no caIssuers URL
    log->aia = a.outcome;
    log->aia_url = a.url;
    log->aia_why = a.why;
    if (a.issuers.empty()) break;
    for (X509Ptr& c : a.issuers)
      if (sk_X509_push(hints.get(), c.get()) > 0) c.release();
    ChainResult third = rt.trust.VerifyChain(cert, hints.get(), now);
    if (third.trusted) return third;
    if (!IssuerMissing(third.error)) {
      // The path is complete but fails a rule: say so, not "issuer missing".
      log->aia_path = third.reason;
      break;
    }
  }
  return first;
}

// smimea_verify (docs/dane.md): "" when a validated DANE-EE SMIMEA record of
// sender matches cert (the whole certificate or its key), else why not.
std::string DaneSignerProblem(const SmimeaSource& dane, const std::string& sender, X509* cert,
                              const Deadline& deadline) {
  std::vector<CertCandidate> found;
  Status st = dane.Find(sender, deadline, &found);
  if (!st.ok()) return "dane-unavailable";
  for (const CertCandidate& c : found) {
    if (c.cert && c.dane_ee && X509_cmp(c.cert.get(), cert) == 0) return "";
    for (const DaneRecord& r : c.dane)
      if (r.usage == 3 && DaneMismatch(r, cert).empty()) return "";
  }
  return "no-dane-record";
}

// Judges one SignerInfo whose signature already verified: chain, key usage,
// algorithms, revocation, identity. Fills r and the log facts.
void JudgeSigner(const Runtime& rt, const DomainRules& rules, const Clock& clock,
                 const Deadline& deadline, const SignerFacts& f, STACK_OF(X509) * certs,
                 STACK_OF(X509_CRL) * crls, const std::string& sender,
                 const std::string& sender_problem, int* aia_budget, SignatureResult* r,
                 SignerLog* log) {
  X509* cert = f.cert.get();
  if (!cert) {
    r->result = AuthResult::kPermError;
    r->reason = "signer-certificate-missing";
    return;
  }
  std::vector<std::string> addrs = CertificateAddresses(cert);
  r->serial = SerialHex(cert);
  r->issuer = IssuerText(cert);
  std::string matched;
  for (const std::string& a : addrs)
    if (!sender.empty() && SameMailbox(a, sender, rules.local_part_case_sensitive)) matched = a;
  r->identifier = !matched.empty() ? matched : (addrs.empty() ? "" : addrs[0]);
  log->signer = r->identifier;

  if (f.cert_from_candidates) log->from_store = "certificate";
  ChainResult chain = CompleteChain(rt, cert, certs, clock.Now(), deadline, aia_budget, log);
  // No path to an anchor: a DANE-EE record of the From: address may bind
  // the certificate to it instead (smimea_verify; no CA, so no revocation).
  bool dane_bound = false;
  if (!chain.trusted && rules.smimea_verify && rt.dane && !sender.empty() &&
      sender_problem.empty() && DaneSignerProblem(*rt.dane, sender, cert, deadline).empty()) {
    std::time_t now = clock.Now();
    if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) {
      chain.reason = "certificate has expired";
    } else if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
      chain.reason = "certificate is not yet valid";
    } else {
      dane_bound = true;
      chain.trusted = true;
      chain.chain.reset(sk_X509_new_null());
      if (chain.chain && sk_X509_push(chain.chain.get(), cert) > 0) X509_up_ref(cert);
      matched = sender;
      r->identifier = sender;
      log->signer = sender;
      r->comment = "certificate bound to the From: address by DANE SMIMEA";
    }
  }
  if (!chain.trusted) {
    log->chain = "untrusted";
    r->result = AuthResult::kFail;
    r->reason = "chain-" + Slug(chain.reason);
    return;
  }
  log->chain = dane_bound ? "dane" : "trusted";
  // The verified path's intermediates are what harvesting stores as chain
  // hints, never the unverified extras a message may carry.
  for (int i = 1; i + 1 < sk_X509_num(chain.chain.get()); ++i) {
    X509* ca = sk_X509_value(chain.chain.get(), i);
    X509_up_ref(ca);
    log->path_cas.emplace_back(ca, X509_free);
  }
  std::string usage = SigningUsageProblem(cert);
  if (!usage.empty()) {
    r->result = AuthResult::kPolicy;
    r->reason = usage;
    return;
  }
  if (f.digest_nid == NID_md5 || (f.digest_nid == NID_sha1 && !rules.allow_sha1)) {
    r->result = AuthResult::kPolicy;
    r->reason = "weak-digest-" + Slug(f.digest_name);
    return;
  }
  // Every certificate on the verified path: signature hashes, key types and
  // sizes, CA extendedKeyUsage (trust/path_algorithms.h).
  std::string weak =
      PathAlgorithmProblem(chain.chain.get(), {rules.allow_sha1, rules.min_rsa_bits});
  if (!weak.empty()) {
    r->result = AuthResult::kPolicy;
    r->reason = weak;
    return;
  }
  // Revocation last among the certificate checks: data is fetched only for
  // chains that verified and certificates that are otherwise acceptable.
  if (rules.revocation_mode == RevocationMode::kOff || dane_bound) {
    log->revocation = "not-checked";
  } else {
    RevocationResult rev =
        rt.revocation->Check(chain.chain.get(), crls, clock.Now(), deadline).overall;
    log->revocation = RevocationStatusName(rev.status);
    log->revocation_via = RevocationLogSource(rev);
    log->revocation_detail = rev.detail;
    if (rev.status == RevocationStatus::kRevoked) {
      r->result = AuthResult::kFail;
      r->reason = "certificate-revoked";
      return;
    }
    const bool unknown =
        rev.status == RevocationStatus::kUnknown || rev.status == RevocationStatus::kUnavailable;
    const bool no_source = rev.status == RevocationStatus::kNoSource;
    if (rules.revocation_mode == RevocationMode::kHard && (unknown || no_source)) {
      // No source is a permanent property of the certificate: policy, not a
      // temporary error that invites retries.
      r->result = unknown ? AuthResult::kTempError : AuthResult::kPolicy;
      r->reason = unknown ? "revocation-status-unknown" : "no-revocation-source";
      return;
    }
    if (unknown) r->comment = "revocation status unknown";
    if (no_source) r->comment = "no revocation source";
  }
  if (!sender_problem.empty()) {
    r->result = AuthResult::kPolicy;
    r->reason = sender_problem;
    return;
  }
  if (matched.empty()) {
    r->result = AuthResult::kPolicy;
    r->reason = addrs.empty() ? "certificate-without-address" : "signer-mismatch";
    return;
  }
  r->result = AuthResult::kPass;
  r->reason.clear();
}

// The header protection (RFC 9788) of the signed payload root: the content
// of multipart/signed, else the start of the opaque signed-data's eContent.
HpInbound ReadHeaderProtection(const SmimeLayout& layout, bool clear, const CmsCheck& cms) {
  HpInbound in;
  ParseProtectedHeaders(clear ? layout.signed_content : std::string_view(cms.content_head), &in);
  return in;
}

// Judges a payload's protected From: and Sender: against the outer ones the
// signer was matched with (docs/header-protection.md): an RFC 9788 reader
// shows the protected ones, so a pass stands only when they name the same
// mailbox, and when the payload's header block has one reading; otherwise
// it becomes policy. With a valid hp, every clause's comment names the
// protected fields (and, for hp="clear", those whose value differs from the
// outer field). *log gets the hp= log value.
void JudgeHeaderProtection(const Transaction& tx, const DomainRules& rules, const HpInbound& in,
                           const std::string& from, std::vector<SignatureResult>* results,
                           std::string* log) {
  // A From: or Sender: in the payload root is judged with or without hp: a
  // reader may find an hp parameter we do not (docs/header-protection.md).
  std::string mismatch = in.ambiguous ? "protected-headers-ambiguous" : "";
  for (const char* name : {"From", "Sender"}) {
    if (!mismatch.empty()) break;
    const std::vector<std::string> inner_values = FieldValues(in.protected_fields, name);
    if (inner_values.empty()) continue;
    std::string inner, outer;
    const std::string lower = name[0] == 'F' ? "from" : "sender";
    const bool inner_ok = IdentityMailbox(inner_values, lower, &inner).empty();
    const bool outer_ok = name[0] == 'F'
                              ? !from.empty()
                              : IdentityMailbox(HeaderValues(tx, name), lower, &outer).empty();
    if (name[0] == 'F') outer = from;
    if (!inner_ok || !outer_ok || !SameMailbox(inner, outer, rules.local_part_case_sensitive)) {
      mismatch = "protected-" + lower + "-mismatch";
      break;
    }
  }
  if (in.mode == HpMode::kNone) {
    // Blocks that are not header blocks at all (nested DER, LF-only text)
    // are common and say nothing about header protection: not logged.
    if (in.ambiguous || in.problem == "hp-unknown-value") *log = "ignored:" + in.problem;
    if (!mismatch.empty()) *log = (log->empty() ? "none" : *log) + ":" + mismatch;
    for (SignatureResult& r : *results)
      if (!mismatch.empty() && r.result == AuthResult::kPass) {
        r.result = AuthResult::kPolicy;
        r.reason = mismatch;
      }
    return;
  }
  *log = HpModeName(in.mode);
  // A value as compared: line breaks gone, blanks at both ends trimmed.
  auto trimmed = [](std::string v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n'; }),
            v.end());
    const size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
  };
  // Only field names of our own list reach the comment: a payload's field
  // could be named "smime=pass", and the comment must not say it.
  std::vector<std::string> seen;
  std::string names, differs;
  int others = 0;
  for (const MimeHeader& h : in.protected_fields) {
    if (!IsProtectedHeaderName(h.name)) {
      ++others;
      continue;
    }
    if (std::any_of(seen.begin(), seen.end(), [&](const std::string& n) {
          return strcasecmp(n.c_str(), h.name.c_str()) == 0;
        }))
      continue;
    seen.push_back(h.name);
    names += (names.empty() ? "" : " ") + h.name;
    if (in.mode != HpMode::kClear) continue;
    const std::vector<std::string> outer = HeaderValues(tx, h.name.c_str());
    const std::vector<std::string> inner = FieldValues(in.protected_fields, h.name);
    bool same = outer.size() == inner.size();
    for (size_t i = 0; same && i < inner.size(); ++i) same = trimmed(inner[i]) == trimmed(outer[i]);
    if (!same) differs += (differs.empty() ? "" : " ") + h.name;
  }
  std::string comment = std::string("hp=") + HpModeName(in.mode) + " protects " +
                        (names.empty() ? "no fields" : names);
  if (others > 0) comment += " and " + std::to_string(others) + " other fields";
  if (!differs.empty()) comment += ", differs: " + differs;
  if (!mismatch.empty()) *log += ":" + mismatch;
  for (SignatureResult& r : *results) {
    r.comment = r.comment.empty() ? comment : r.comment + "; " + comment;
    if (!mismatch.empty() && r.result == AuthResult::kPass) {
      r.result = AuthResult::kPolicy;
      r.reason = mismatch;
    }
  }
}

// from/from_problem: the single From: mailbox and, when there is none, why.
void VerifyInbound(const Runtime& rt, const Transaction& tx, const Clock& clock,
                   const Deadline& deadline, const std::string& from,
                   const std::string& from_problem, Outcome* o, std::vector<SignerLog>* logs,
                   std::string* note, std::string* hp_log) {
  if (tx.message_size > rt.max_message_size || tx.truncated) {
    o->results.push_back(Clause(AuthResult::kPermError, "message-too-large", ""));
    return;
  }
  SmimeLayout layout;
  const std::string wire = WireMessage(tx);  // layout.signed_content points into it
  Status st = LocateSmime(wire, rt.limits, &layout);
  if (!st.ok()) {
    o->results.push_back(Clause(AuthResult::kPermError, st.message(), ""));
    if (!layout.ambiguity.empty()) *note = "ambiguous MIME: " + layout.ambiguity;
    return;
  }
  if (layout.kind == SmimeLayout::Kind::kNone) {
    // Signatures below the root cover only part of what the reader sees.
    for (const std::string& part : layout.nested_signatures)
      o->results.push_back(Clause(AuthResult::kNeutral, "signature-not-on-whole-message", part));
    return;
  }

  const bool clear = layout.kind == SmimeLayout::Kind::kClearSigned;
  CmsCheck cms =
      VerifySignedData(layout.cms_der, clear ? &layout.signed_content : nullptr, rt.max_signers);
  if (cms.outcome == CmsCheck::Outcome::kMalformed && cms.reason == "signer-certificate-missing") {
    // The message lacks a signer's certificate: our store may hold it.
    X509StackPtr known = StoreSigners(rt, tx, from, deadline);
    if (known)
      cms = VerifySignedData(layout.cms_der, clear ? &layout.signed_content : nullptr,
                             rt.max_signers, known.get());
  }
  if (!cms.detail.empty()) *note = cms.detail;
  using CO = CmsCheck::Outcome;
  switch (cms.outcome) {
    case CO::kVerified: break;
    case CO::kNotSignedData:
      if (clear)
        o->results.push_back(Clause(AuthResult::kPermError, cms.reason, "TEXT"));
      else
        o->results.push_back(Clause(AuthResult::kNone, "encrypted-" + cms.reason, ""));
      return;
    case CO::kNoSigners:
      if (!clear && layout.smime_type == "certs-only")
        o->results.push_back(Clause(AuthResult::kNone, "certs-only", ""));
      else
        o->results.push_back(Clause(AuthResult::kPermError, cms.reason, "TEXT"));
      return;
    case CO::kBadSignature:
    case CO::kForged:
    case CO::kMalformed:
    case CO::kUnsupported:
    case CO::kTooManySigners: {
      AuthResult res = (cms.outcome == CO::kBadSignature || cms.outcome == CO::kForged)
                           ? AuthResult::kFail
                           : AuthResult::kPermError;
      SignatureResult r = Clause(res, cms.reason, "TEXT");
      if (!cms.signers.empty() && cms.signers[0].cert) {
        std::vector<std::string> addrs = CertificateAddresses(cms.signers[0].cert.get());
        if (!addrs.empty()) r.identifier = addrs[0];
        r.serial = SerialHex(cms.signers[0].cert.get());
        r.issuer = IssuerText(cms.signers[0].cert.get());
        SignerLog log;
        log.signer = r.identifier;
        logs->push_back(log);
      }
      o->results.push_back(r);
      return;
    }
  }

  // Rules come from the policy of the From: domain (policy_dir).
  std::string sender = from, sender_problem = from_problem;
  const DomainRules& rules = rt.RulesFor(DomainOf(from));
  const bool use_sender = rules.match_sender_header && !HeaderValues(tx, "Sender").empty();
  if (use_sender) sender_problem = IdentityMailbox(HeaderValues(tx, "Sender"), "sender", &sender);
  int aia_budget = 1;  // AIA requests this message may make (docs/verification.md)
  for (const SignerFacts& f : cms.signers) {
    SignatureResult r;
    r.part = "TEXT";
    SignerLog log;
    JudgeSigner(rt, rules, clock, deadline, f, cms.certs.get(), cms.crls.get(), sender,
                sender_problem, &aia_budget, &r, &log);
    // Say so when the identity is Sender:'s, so From: is never implied.
    if (use_sender && !sender.empty()) r.sender = sender;
    o->results.push_back(r);
    logs->push_back(log);
  }
  JudgeHeaderProtection(tx, rules, ReadHeaderProtection(layout, clear, cms), from, &o->results,
                        hp_log);
  // A message that passed every rule is the one kind of evidence good
  // enough to encrypt replies to its signers; a signer beside one that
  // failed is not harvested.
  if (Aggregate(o->results) != AuthResult::kPass || !rt.harvest || !rt.cert_store) return;
  // Where it was seen: the queue id and the Message-ID, for `cert list`.
  const std::vector<std::string> ids = HeaderValues(tx, "Message-ID");
  const std::string seen_in =
      tx.queue_id + (ids.empty() ? "" : " " + SanitizeHeaderText(ids[0], 200));
  for (size_t i = 0; i < cms.signers.size() && i < logs->size(); ++i) {
    SignerLog& log = (*logs)[i];
    std::vector<X509*> hints;
    for (const auto& ca : log.path_cas) hints.push_back(ca.get());
    const SignerFacts& f = cms.signers[i];
    Status hs = rt.cert_store->Harvest(o->results[i].identifier, f.cert.get(), f.capabilities,
                                       f.signing_time, seen_in, clock.Now());
    if (hs.ok()) hs = rt.cert_store->AddIntermediates(hints);
    if (!hs.ok()) log.harvest_error = hs.message();
  }
}

void InboundOutcome(const Runtime& rt, const Transaction& tx, const Clock& clock,
                    const Deadline& deadline, Outcome* o) {
  std::string from;
  const std::string from_problem = IdentityMailbox(HeaderValues(tx, "From"), "from", &from);
  std::vector<SignerLog> logs;
  std::string note, hp_log;
  // Mail encrypted to our users is judged as it will be delivered: the
  // inner entity, its signature verified by the same rules
  // (docs/decryption.md).
  DecryptionAttempt dec = TryDecrypt(rt, tx);
  using DS = DecryptionAttempt::State;
  // Triple-wrapped: the outer signature, on the message as received, is
  // judged too; its clauses come first.
  Outcome outer;
  std::vector<SignerLog> outer_logs;
  std::string outer_note, outer_hp;  // the outer signature covers an envelope: no hp
  if (dec.state == DS::kDecrypted && dec.wrapped)
    VerifyInbound(rt, tx, clock, deadline, from, from_problem, &outer, &outer_logs, &outer_note,
                  &outer_hp);
  VerifyInbound(rt, dec.state == DS::kDecrypted ? dec.delivered : tx, clock, deadline, from,
                from_problem, o, &logs, &note, &hp_log);
  if (dec.state == DS::kDecrypted && !dec.authenticated && !dec.unauthenticated_ok &&
      Aggregate(o->results) != AuthResult::kPass) {
    // CBC has no integrity: without a signature that passes, the content may
    // be an attacker's edit of a captured ciphertext (EFAIL gadgets).
    const bool signed_inside = !o->results.empty();
    dec = DecryptionAttempt();
    dec.state = DS::kKept;
    dec.reason = "unauthenticated-cbc";
    dec.detail = signed_inside ? "inner signature not pass" : "no inner signature";
    o->results.clear();
    logs.clear();
    note.clear();
    hp_log.clear();
    VerifyInbound(rt, tx, clock, deadline, from, from_problem, o, &logs, &note, &hp_log);
  } else if (dec.state == DS::kDecrypted && dec.wrapped) {
    o->results.insert(o->results.begin(), outer.results.begin(), outer.results.end());
    logs.insert(logs.begin(), outer_logs.begin(), outer_logs.end());
    if (!outer_note.empty()) note = note.empty() ? outer_note : outer_note + "; " + note;
  }
  o->verdict = Aggregate(o->results);
  o->results = HonestClauses(o->verdict, std::move(o->results));
  if (dec.state == DS::kDecrypted) {
    if (o->results.empty()) o->results.push_back(Clause(AuthResult::kNone, "", ""));
    std::string& c = o->results[0].comment;
    c = c.empty() ? "decrypted" : "decrypted; " + c;
    o->edits.insert(o->edits.end(), dec.edits.begin(), dec.edits.end());
    o->replace_body = true;
    o->body = SpoolBuffer(std::move(dec.body));
  } else if (dec.state == DS::kKept && !o->results.empty()) {
    std::string& c = o->results[0].comment;
    c = c.empty() ? "not decrypted: " + dec.reason : "not decrypted: " + dec.reason + "; " + c;
  }
  o->edits.push_back(
      {HeaderEdit::Kind::kInsert, kArHeader, BuildAuthResults(rt.authserv_id, o->results), 0});

  o->event = "verify";
  AppendAddressField(&o->fields, "from", from);
  if (dec.state == DS::kDecrypted) {
    AppendField(&o->fields, "decrypted", dec.cipher);
    if (dec.wrapped) AppendField(&o->fields, "wrapped", "triple");
    AppendField(&o->fields, "key", dec.key_fingerprint);
    AppendField(&o->fields, "key_origin", dec.key_origin);
    if (!dec.hp_restored.empty()) {
      AppendField(&o->fields, "hp_restored", dec.hp_restored);
      if (!dec.hp_restore_detail.empty())
        AppendField(&o->fields, "hp_restored_why", dec.hp_restore_detail);
    }
  } else if (dec.state == DS::kKept) {
    AppendField(&o->fields, "decrypted", "no");
    AppendField(&o->fields, "decrypt_why", dec.reason);
    if (!dec.detail.empty()) note = note.empty() ? dec.detail : dec.detail + "; " + note;
  }
  // Matched against Sender: the log says so, as the header does.
  for (const SignatureResult& r : o->results)
    if (!r.sender.empty()) {
      AppendAddressField(&o->fields, "sender", r.sender);
      break;
    }
  for (const SignerLog& l : logs) {
    // The chain verdict first: a signer address is never read without it.
    // The group repeats once per signature (docs/logging.md).
    AppendSignerField(&o->fields, "chain", l.chain);
    AppendSignerAddressField(&o->fields, "signer", l.signer);
    if (!l.from_store.empty()) AppendSignerField(&o->fields, "from_store", l.from_store);
    if (!l.aia.empty()) {
      AppendSignerField(&o->fields, "aia", l.aia);
      // One value per name (docs/logging.md): the URL, the fetcher's words
      // and the rule the completed path broke are three fields.
      if (!l.aia_url.empty()) AppendSignerField(&o->fields, "aia_url", l.aia_url);
      if (!l.aia_why.empty()) AppendSignerField(&o->fields, "aia_why", l.aia_why);
      if (!l.aia_path.empty()) AppendSignerField(&o->fields, "aia_path", l.aia_path);
    }
    AppendSignerField(&o->fields, "revocation", l.revocation);
    if (!l.revocation_via.empty())
      AppendSignerField(&o->fields, "revocation_source", l.revocation_via);
    if (!l.harvest_error.empty()) {
      AppendSignerField(&o->fields, "harvest", "failed");
      AppendSignerField(&o->fields, "harvest_error", l.harvest_error);
    }
    if (!l.revocation_detail.empty())
      note = note.empty() ? l.revocation_detail : note + "; " + l.revocation_detail;
  }
  if (!hp_log.empty()) AppendField(&o->fields, "hp", hp_log);
  AppendField(&o->fields, "result", AuthResultName(o->verdict));
  for (const SignatureResult& r : o->results)
    if (r.result == o->verdict && !r.reason.empty()) {
      AppendField(&o->fields, "reason", r.reason);
      break;
    }
  o->AddNote(note);
}

// Forged verdicts: every Authentication-Results carrying our authserv-id is
// deleted whatever the direction (mail re-injected on localhost or by local
// pickup is outbound and must not keep one either), highest ordinal first
// so earlier ordinals stay valid while deleting.
std::vector<HeaderEdit> ForgedVerdictRemovals(const Runtime& rt, const Transaction& tx) {
  std::vector<HeaderEdit> out;
  int ordinal = 0;
  for (const Header& h : tx.headers) {
    if (strcasecmp(h.name.c_str(), kArHeader) != 0) continue;
    ++ordinal;
    if (SameAuthservId(AuthservIdOf(h.value), rt.authserv_id))
      out.insert(out.begin(), {HeaderEdit::Kind::kDelete, kArHeader, "", ordinal});
  }
  return out;
}

// Puts the removals in front of o's edits (deletions first, as HeaderEdit
// wants) when the message is accepted; refused mail gets no edits.
void RemoveForged(std::vector<HeaderEdit> removals, Outcome* o) {
  if (removals.empty() || o->disposition != Disposition::kAccept) return;
  AppendField(&o->fields, "removed", std::to_string(removals.size()));
  removals.insert(removals.end(), o->edits.begin(), o->edits.end());
  o->edits = std::move(removals);
}

}  // namespace

Outcome InternalErrorOutcome(bool accept, const std::string& what) {
  Outcome o;
  o.severity = Severity::kPanic;
  o.event = "panic";
  AppendField(&o.fields, "error", what);
  if (accept) {
    AppendField(&o.fields, "action", "accept");
    AppendField(&o.fields, "reason", "internal_error_action");
    return o;
  }
  o.disposition = Disposition::kTempFail;
  o.reply_code = "451";
  o.reply_xcode = "4.3.0";
  o.reply_text = "Internal error in the S/MIME filter, try again later";
  AppendField(&o.fields, "action", "tempfail");
  return o;
}

Outcome Process(const Runtime& rt, const Transaction& tx, const Clock& clock) {
  Stopwatch sw;
  // One deadline for every network wait of this end-of-data step.
  const Deadline deadline = Deadline::After(clock, rt.eom_deadline_ms);
  Outcome o;
  std::vector<HeaderEdit> removals;
  try {
    removals = ForgedVerdictRemovals(rt, tx);
    std::string why;
    o.direction = DecideDirection(tx, rt.internal_hosts, rt.originating_daemons, &why);
    if (o.direction == Direction::kOutbound) {
      OutboundOutcome(rt, tx, clock, deadline, why, &o);
      RemoveForged(removals, &o);
    } else {
      InboundOutcome(rt, tx, clock, deadline, &o);
      // Verified first (the verdict goes in the outer header), then
      // encrypted when a recipient's domain asks for it: docs/encryption.md.
      EncryptForRecipients(rt, tx, clock, deadline, &o);
      RemoveForged(removals, &o);
      if (rt.log_why) {
        AppendField(&o.fields, "direction", "inbound");
        AppendDirectionWhy(tx, why, &o.fields);
      }
    }
    AppendField(&o.fields, "ms", std::to_string(sw.ElapsedMs()));
  } catch (const std::exception& e) {
    // Accepted unfiltered, the message still loses verdicts in our name and
    // says temperror (PoisonedOutcome).
    return PoisonedOutcome(rt, tx, e.what());
  }
  return o;
}

Outcome PoisonedOutcome(const Runtime& rt, const Transaction& tx, const std::string& what,
                        bool remove_forged) {
  if (!rt.internal_error_accept) return InternalErrorOutcome(false, what);
  try {
    Outcome o = InternalErrorOutcome(true, what);
    std::string why;
    o.direction = DecideDirection(tx, rt.internal_hosts, rt.originating_daemons, &why);
    if (o.direction == Direction::kInbound) {
      o.verdict = AuthResult::kTempError;
      o.results = {Clause(AuthResult::kTempError, "internal-error", "")};
      o.edits.push_back(
          {HeaderEdit::Kind::kInsert, kArHeader, BuildAuthResults(rt.authserv_id, o.results), 0});
      AppendField(&o.fields, "result", "temperror");
    }
    if (remove_forged) RemoveForged(ForgedVerdictRemovals(rt, tx), &o);
    return o;
  } catch (const std::exception&) {
    // Not even that (out of memory): the administrator's choice, unfiltered.
    return InternalErrorOutcome(true, what);
  }
}

}  // namespace smime
