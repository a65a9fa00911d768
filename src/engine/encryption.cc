// engine/encryption: see encryption.h.
#include "engine/encryption.h"

#include <algorithm>
#include <exception>

#include "mime/rcpt_address.h"
#include "policy/domain_policy.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

const char* EncryptModeName(EncryptMode m) {
  switch (m) {
    case EncryptMode::kNever: return "never";
    case EncryptMode::kOpportunistic: return "opportunistic";
    case EncryptMode::kRequired: return "required";
  }
  return "?";
}

ChoiceRules RulesOf(const DomainRules& rules) {
  ChoiceRules cr;
  cr.min_trust = rules.min_trust;
  cr.revocation = rules.revocation_mode;
  cr.algorithms = {rules.allow_sha1, rules.min_rsa_bits};
  cr.smimea = rules.smimea;
  return cr;
}

RecipientChoice Lookup(const Runtime& rt, const DomainRules& rules, const std::string& rcpt,
                       const Clock& clock, const Deadline& deadline) {
  return rt.directory.Choose(rcpt, RulesOf(rules), rt.trust, rt.revocation.get(), clock.Now(),
                             deadline);
}

std::string Why(const RecipientChoice& c) {
  if (!c.unavailable.empty()) return c.unavailable[0];
  if (!c.rejected.empty()) return c.rejected[0];
  return "not-found";
}

}  // namespace

int CipherStrength(ContentCipher c) {
  switch (c) {
    case ContentCipher::kAes256Gcm:
    case ContentCipher::kAes256Cbc: return 256;
    case ContentCipher::kAes192Cbc: return 192;
    case ContentCipher::kAes128Gcm:
    case ContentCipher::kAes128Cbc: return 128;
  }
  return 0;
}

std::vector<ContentCipher> AcceptableCiphers(const DomainRules& rules,
                                             const std::vector<int>& capabilities) {
  if (!rules.cipher_auto) return {rules.cipher};
  std::vector<ContentCipher> out;
  for (ContentCipher c :
       {ContentCipher::kAes256Gcm, ContentCipher::kAes128Gcm, ContentCipher::kAes256Cbc,
        ContentCipher::kAes192Cbc, ContentCipher::kAes128Cbc})
    if (std::find(capabilities.begin(), capabilities.end(), ContentCipherNid(c)) !=
        capabilities.end())
      out.push_back(c);
  // Nothing announced (or only algorithms we do not produce): AES-256-CBC,
  // which every current client reads (docs/encryption.md).
  if (out.empty()) out.push_back(ContentCipher::kAes256Cbc);
  return out;
}

ContentCipher CommonCipher(const std::vector<std::vector<ContentCipher>>& acceptable, int floor) {
  // RFC 8551 2.7.1: the strongest every recipient can read. GCM first
  // (authenticated), AES-128-GCM only when a policy fixed it for everyone.
  static const ContentCipher kOrder[] = {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc,
                                         ContentCipher::kAes192Cbc, ContentCipher::kAes128Cbc,
                                         ContentCipher::kAes128Gcm};
  ContentCipher chosen = ContentCipher::kAes256Cbc;  // no common one: what every client reads
  for (ContentCipher c : kOrder) {
    const bool everyone =
        std::all_of(acceptable.begin(), acceptable.end(), [c](const std::vector<ContentCipher>& a) {
          return std::find(a.begin(), a.end(), c) != a.end();
        });
    if (everyone && !acceptable.empty()) {
      chosen = c;
      break;
    }
  }
  if (CipherStrength(chosen) >= floor) return chosen;
  return floor > 192 ? ContentCipher::kAes256Cbc : ContentCipher::kAes192Cbc;
}

RcptVerdict DecideRecipient(const Runtime& rt, const Transaction& tx, const std::string& rcpt_arg,
                            const Clock& clock, const Deadline& deadline) {
  const std::string rcpt = EnvelopeAddress(rcpt_arg);
  RcptVerdict v;
  const std::string domain = DomainOf(rcpt);
  const DomainRules& rules = rt.RulesFor(domain);
  AppendAddressField(&v.fields, "to", rcpt);
  AppendField(&v.fields, "domain", domain);
  AppendField(&v.fields, "encrypt", EncryptModeName(rules.encrypt));
  if (rules.encrypt == EncryptMode::kNever) {
    v.cls = RcptClass::kClear;
  } else {
    RecipientChoice c = Lookup(rt, rules, rcpt, clock, deadline);
    if (c.found) {
      AppendField(&v.fields, "cert", c.chosen.source);
      AppendField(&v.fields, "serial", SerialHex(c.chosen.cert.get()));
      v.cls = rules.encrypt == EncryptMode::kRequired ? RcptClass::kEncrypt : RcptClass::kFlexible;
      v.choice = std::make_shared<const RecipientChoice>(std::move(c));
    } else if (rules.encrypt == EncryptMode::kOpportunistic) {
      AppendField(&v.fields, "cert", "none");
      v.cls = RcptClass::kClear;
    } else {
      AppendField(&v.fields, "cert", "none");
      AppendField(&v.fields, "cert_why", Why(c));
      v.disposition = Disposition::kTempFail;
      v.reply_code = "450";
      v.reply_xcode = "4.7.1";
      if (!c.unavailable.empty()) {
        v.reply_code = "451";
        v.reply_text = "Certificate directory unavailable; encryption to " + rcpt +
                       " is required, try again later";
        v.deadline = c.deadline;
        if (c.deadline) AppendField(&v.fields, "reason", "deadline");
        AppendField(&v.fields, "action", "tempfail");
        return v;
      }
      v.reply_text =
          "No usable S/MIME certificate for " + rcpt + ": mail to this domain must be encrypted";
      if (rules.missing_certificate_reject) {
        v.disposition = Disposition::kReject;
        v.reply_code = "550";
        v.reply_xcode = "5.7.1";
      }
      AppendField(&v.fields, "action",
                  v.disposition == Disposition::kReject ? "reject" : "tempfail");
      return v;
    }
  }
  const bool has_encrypt =
      std::count(tx.rcpt_classes.begin(), tx.rcpt_classes.end(), RcptClass::kEncrypt) > 0;
  const bool has_clear =
      std::count(tx.rcpt_classes.begin(), tx.rcpt_classes.end(), RcptClass::kClear) > 0;
  if ((v.cls == RcptClass::kEncrypt && has_clear) || (v.cls == RcptClass::kClear && has_encrypt)) {
    v.disposition = Disposition::kTempFail;
    v.reply_code = "452";
    v.reply_xcode = "4.5.3";
    v.reply_text = std::string("Recipient needs ") +
                   (v.cls == RcptClass::kEncrypt ? "encrypted" : "unencrypted") +
                   " mail: send to it in a separate transaction";
    AppendField(&v.fields, "action", "defer-separate-transaction");
    return v;
  }
  AppendField(&v.fields, "action", "accept");
  return v;
}

namespace {

// AddRecipient within a given deadline.
RcptVerdict AddRecipientWithin(const Runtime& rt, const std::string& rcpt_arg, const Clock& clock,
                               const Deadline& deadline, Transaction* tx) {
  RcptVerdict v;
  RcptAddress clean;
  const std::string bad = ParseRcptAddress(rcpt_arg, &clean);
  if (!bad.empty()) {
    // Never judged under a domain the MTA might not deliver to.
    std::string shown = rcpt_arg;
    if (shown.size() >= 2 && shown.front() == '<' && shown.back() == '>')
      shown = shown.substr(1, shown.size() - 2);
    AppendAddressField(&v.fields, "to", shown);
    AppendField(&v.fields, "syntax", bad);
    AppendField(&v.fields, "action", "reject");
    v.disposition = Disposition::kReject;
    v.reply_code = "550";
    v.reply_xcode = "5.1.3";
    v.reply_text = "Bad recipient address syntax (" + bad + "): give one plain <local@domain>";
    return v;
  }
  if (rt.any_encryption) {
    // Every direction: mail to a domain that requires encryption never
    // passes in clear, whoever submitted it.
    try {
      v = DecideRecipient(rt, *tx, clean.address, clock, deadline);
    } catch (const std::exception& e) {
      v = RcptVerdict();
      v.disposition = Disposition::kTempFail;
      v.reply_code = "451";
      v.reply_xcode = "4.3.0";
      v.reply_text = "Internal error in the S/MIME filter, try again later";
      AppendAddressField(&v.fields, "to", clean.address);
      AppendField(&v.fields, "error", e.what());
      AppendField(&v.fields, "action", "tempfail");
    }
    if (v.disposition != Disposition::kAccept) return v;
    tx->rcpt_classes.push_back(v.cls);
    tx->rcpt_choices.push_back(v.choice);
  } else {
    AppendAddressField(&v.fields, "to", clean.address);
    AppendField(&v.fields, "domain", clean.domain);
    AppendField(&v.fields, "encrypt", "never");
    AppendField(&v.fields, "action", "accept");
  }
  tx->rcpts.push_back(clean.address);
  return v;
}

}  // namespace

RcptVerdict AddRecipient(const Runtime& rt, const std::string& rcpt_arg, const Clock& clock,
                         Transaction* tx) {
  // One deadline for everything this RCPT waits for, so the reply comes
  // before the MTA's milter_command_timeout (docs/encryption.md).
  return AddRecipientWithin(rt, rcpt_arg, clock, Deadline::After(clock, rt.rcpt_deadline_ms), tx);
}

EncryptionPlan PlanEncryption(const Runtime& rt, const Transaction& tx, const Clock& clock,
                              const Deadline& deadline) {
  EncryptionPlan plan;
  std::vector<RcptClass> classes = tx.rcpt_classes;
  std::vector<std::shared_ptr<const RecipientChoice>> choices = tx.rcpt_choices;
  if (classes.size() != tx.rcpts.size()) {  // not decided at RCPT time (no MTA): decide now
    Transaction so_far = tx;
    so_far.rcpts.clear();
    so_far.rcpt_classes.clear();
    so_far.rcpt_choices.clear();
    for (const std::string& r : tx.rcpts) {
      RcptVerdict v = AddRecipientWithin(rt, r, clock, deadline, &so_far);
      if (v.disposition != Disposition::kAccept) {
        plan.refuse = true;
        plan.reply_code = v.reply_code == "550" ? "550" : "451";
        plan.reply_xcode = v.reply_code == "550" ? v.reply_xcode : "4.7.1";
        plan.reply_text = v.reply_text;
        plan.reason = v.deadline ? "deadline" : "recipient-refused";
        return plan;
      }
    }
    classes = so_far.rcpt_classes;
    choices = so_far.rcpt_choices;
  }
  if (choices.size() != tx.rcpts.size()) choices.assign(tx.rcpts.size(), nullptr);
  const bool has_encrypt = std::count(classes.begin(), classes.end(), RcptClass::kEncrypt) > 0;
  const bool has_clear = std::count(classes.begin(), classes.end(), RcptClass::kClear) > 0;
  if (classes.empty() || (has_clear && !has_encrypt)) {
    plan.why = classes.empty() ? "no-recipients" : "clear";
    return plan;
  }
  if (has_clear && has_encrypt) {  // RCPT time prevents this; never send clear to a required one
    plan.refuse = true;
    plan.reply_code = "451";
    plan.reply_xcode = "4.7.1";
    plan.reply_text = "Recipients need encrypted and unencrypted mail: send separately";
    plan.reason = "mixed-recipients";
    return plan;
  }
  plan.encrypt = true;
  plan.why = has_encrypt ? "required" : "opportunistic";
  std::vector<std::vector<ContentCipher>> acceptable;  // per recipient
  int floor = 0;
  for (size_t i = 0; i < tx.rcpts.size(); ++i) {
    const std::string r = EnvelopeAddress(tx.rcpts[i]);
    const DomainRules& rules = rt.RulesFor(DomainOf(r));
    bool reused = false;
    RecipientChoice c =
        choices[i] ? rt.directory.ChooseAgain(*choices[i], r, RulesOf(rules), rt.trust,
                                              rt.revocation.get(), clock.Now(), deadline, &reused)
                   : Lookup(rt, rules, r, clock, deadline);
    plan.reused += reused ? 1 : 0;
    if (!c.found) {
      plan.refuse = true;
      plan.reply_code = "451";
      plan.reply_xcode = "4.7.1";
      plan.reply_text = "The S/MIME certificate of " + r + " is no longer usable, try again later";
      plan.reason = c.deadline ? "deadline" : "certificate-lost";
      return plan;
    }
    acceptable.push_back(AcceptableCiphers(rules, c.chosen.capabilities));
    floor = std::max(floor, CipherStrength(rules.min_cipher));
    plan.transports.push_back(rules.rsa_transport);
    plan.certs.push_back(std::move(c.chosen));
  }
  plan.cipher = CommonCipher(acceptable, floor);
  return plan;
}

}  // namespace smime
