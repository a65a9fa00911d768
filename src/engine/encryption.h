// engine/encryption: which outbound recipients get the message encrypted,
// to which certificate, and what happens when that is impossible.
//
// Entry points: DecideRecipient() at RCPT time (the milter's xxfi_envrcpt
// and `smimectl process` for each --rcpt) and PlanEncryption() at end of
// data. The rule that keeps "one transaction, one treatment":
//   - encrypt = required: the recipient needs a usable certificate, else it
//     is refused now (550 5.7.1 or 450 4.7.1 per missing_certificate; 451
//     4.7.1 when a certificate source cannot answer), and it makes the
//     transaction encrypted;
//   - encrypt = never, or opportunistic without a usable certificate: the
//     recipient makes the transaction clear;
//   - opportunistic with a certificate: fits either.
// A recipient that does not fit the transaction's treatment so far gets
// 452 4.5.3, so the client sends it again in a separate transaction;
// nothing is dropped and a required recipient never receives clear text.
#ifndef SMIME_ENGINE_ENCRYPTION_H_
#define SMIME_ENGINE_ENCRYPTION_H_

#include <string>
#include <vector>

#include "base/clock.h"
#include "engine/outcome.h"
#include "engine/runtime.h"
#include "engine/transaction.h"

namespace smime {

struct RcptVerdict {
  Disposition disposition = Disposition::kAccept;
  std::string reply_code, reply_xcode, reply_text;
  RcptClass cls = RcptClass::kClear;
  std::string fields;  // for the log: "rcpt=<..>, encrypt=required, cert=ldap serial 1A"
};

// tx: the transaction so far (its accepted recipients and their classes).
// Inbound transactions are never asked.
RcptVerdict DecideRecipient(const Runtime& rt, const Transaction& tx, const std::string& rcpt,
                            const Clock& clock);

// The RCPT step as the milter and `smimectl process` run it: the address
// is normalised (EnvelopeAddress); for an outbound transaction when some
// domain encrypts it is judged (DecideRecipient; a failure of the filter
// itself refuses this recipient only, 451 4.3.0, so the recipients already
// judged are not forgotten). On accept it is added to tx->rcpts (and its
// class to tx->rcpt_classes when judged); on refusal tx is unchanged.
RcptVerdict AddRecipient(const Runtime& rt, const std::string& rcpt, const Clock& clock,
                         Transaction* tx);

struct EncryptionPlan {
  bool encrypt = false;
  std::vector<CertCandidate> certs;         // one per recipient, in tx.rcpts order
  std::vector<RsaKeyTransport> transports;  // parallel to certs
  ContentCipher cipher = ContentCipher::kAes256Cbc;
  // When the plan cannot be carried out (a required recipient lost its
  // certificate since RCPT): the refusal.
  bool refuse = false;
  std::string reply_code, reply_xcode, reply_text, reason;
  std::string why;  // log: "required", "opportunistic", "not-all-certificates", ...
};

EncryptionPlan PlanEncryption(const Runtime& rt, const Transaction& tx, const Clock& clock);

}  // namespace smime

#endif  // SMIME_ENGINE_ENCRYPTION_H_
