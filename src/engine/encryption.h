// engine/encryption: which recipients get the message encrypted, to which
// certificate, and what happens when that is impossible. Encryption follows
// the recipient's domain whatever the direction of the message: mail
// submitted with the sendmail command or relayed from outside is encrypted
// (or refused) exactly like mail from internal hosts.
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
//
// Each step has one deadline for all its network waits (LDAP lookups,
// revocation checks; base/deadline.h): AddRecipient creates it from
// rcpt_deadline, Process (engine/processor) from eom_deadline and passes it
// to PlanEncryption. A lookup it cuts short is "cannot answer": 451 4.7.1
// for a required recipient (log: reason=deadline), never clear text.
#ifndef SMIME_ENGINE_ENCRYPTION_H_
#define SMIME_ENGINE_ENCRYPTION_H_

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/deadline.h"
#include "engine/outcome.h"
#include "engine/runtime.h"
#include "engine/transaction.h"

namespace smime {

struct RcptVerdict {
  Disposition disposition = Disposition::kAccept;
  std::string reply_code, reply_xcode, reply_text;
  RcptClass cls = RcptClass::kClear;
  // For the log line "QUEUEID: rcpt: FIELDS": "to=<..>, domain=b.example,
  // encrypt=required, cert=ldap serial 1A, action=accept".
  std::string fields;
  bool deadline = false;  // refused because the step's deadline cut a lookup short
  std::shared_ptr<const RecipientChoice> choice;  // the certificate found, if any
};

// tx: the transaction so far (its accepted recipients and their classes);
// rcpt: a clean address (AddRecipient has reduced it); deadline: the
// step's (none by default).
RcptVerdict DecideRecipient(const Runtime& rt, const Transaction& tx, const std::string& rcpt,
                            const Clock& clock, const Deadline& deadline = Deadline());

// The RCPT step as the milter and `smimectl process` run it, in every
// direction: the argument is reduced to one clean address
// (mime/rcpt_address ParseRcptAddress) or refused with 550 5.1.3 (comments,
// whitespace, several '@', routing characters: the MTA might deliver it to
// a domain other than the one the milter would judge); when some domain
// encrypts it is judged (DecideRecipient; a failure of the filter itself
// refuses this recipient only, 451 4.3.0, so the recipients already judged
// are not forgotten). On accept the clean address is added to tx->rcpts
// (and its class to tx->rcpt_classes when judged); on refusal tx is
// unchanged. v.fields is the log line for every outcome. The step's
// deadline is rt.rcpt_deadline_ms from now (clock.Monotonic()).
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
  int reused = 0;   // certificates taken from the RCPT-time choice (not looked up again)
};

// Content-cipher choice (RFC 8551 2.7.1, docs/encryption.md). Key size in
// bits (AES-256-GCM and AES-256-CBC: 256).
int CipherStrength(ContentCipher c);
// What one recipient may get: the policy's fixed encryption_algorithm, else
// the ciphers it announced (capabilities: SMIMECapabilities NIDs), else
// AES-256-CBC when it announced none we produce.
std::vector<ContentCipher> AcceptableCiphers(const DomainRules& rules,
                                             const std::vector<int>& capabilities);
// The one cipher for a message: AES-256-GCM when every recipient accepts it,
// else the strongest CBC every recipient accepts (AES-128-GCM only when it
// is the one every recipient accepts), else AES-256-CBC; then raised to
// floor bits (encryption_min_algorithm) with CBC when it is weaker.
ContentCipher CommonCipher(const std::vector<std::vector<ContentCipher>>& acceptable, int floor);

// Each recipient's certificate is the one chosen at RCPT time
// (tx.rcpt_choices) when RecipientDirectory::ChooseAgain finds it still
// holds (no source changed since, path valid now, not revoked), else chosen
// again: a certificate removed in between is never used.
// The cipher is CommonCipher over every recipient's AcceptableCiphers and
// the highest encryption_min_algorithm among their domains.
// deadline: the end-of-data step's (none by default). Recipients not judged
// at RCPT time (`smimectl process` without an MTA) are judged now, within it.
EncryptionPlan PlanEncryption(const Runtime& rt, const Transaction& tx, const Clock& clock,
                              const Deadline& deadline = Deadline());

}  // namespace smime

#endif  // SMIME_ENGINE_ENCRYPTION_H_
