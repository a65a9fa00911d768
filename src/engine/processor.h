// engine/processor: the one decision function behind the milter, the CLI,
// the tests and the benchmark.
//
// Process() takes a finished Transaction and returns an Outcome; it never
// throws. In every direction it removes forged Authentication-Results
// carrying our authserv-id (unless the message is refused). Inbound: verify
// the S/MIME signature by the rules of docs/verification.md (the From: or
// Sender: that must match the signer read by mime/address IdentityMailbox;
// a signer certificate or intermediates the message lacks are taken from
// rt.cert_store as untrusted hints, docs/verification.md "Certificates from
// our store"; a From: or Sender: in the signed payload's own header, RFC 9788
// header protection, must name the outer one: docs/header-protection.md)
// and add our header at the top. Mail encrypted to our users is first
// decrypted where engine/decryption allows it (docs/decryption.md) and then
// judged as it will be delivered; CBC content without an inner signature
// that passes stays encrypted unless decrypt_unauthenticated. Outbound:
// engine/outbound applies the signing policy. Then, in either direction,
// encrypt when a recipient's domain asks for it (engine/outbound
// EncryptForRecipients). All network waits of one call (revocation of every
// signer's chain, recipient lookups) share one deadline, rt.eom_deadline_ms
// from the start (base/deadline.h), so the answer comes before the MTA's
// milter_content_timeout; what it cuts
// short is revocation status unknown (smime=temperror under revocation =
// hard; log revocation=unavailable (deadline)) or 451 4.7.1 for encryption
// (log reason=deadline). An unexpected exception becomes the internal-error
// disposition (451 4.3.0; under accept, PoisonedOutcome) with a panic: log.
#ifndef SMIME_ENGINE_PROCESSOR_H_
#define SMIME_ENGINE_PROCESSOR_H_

#include "base/clock.h"
#include "engine/outcome.h"
#include "engine/runtime.h"
#include "engine/transaction.h"

namespace smime {

Outcome Process(const Runtime& rt, const Transaction& tx, const Clock& clock);

// The outcome for a failure of the filter itself: tempfail 451 4.3.0 (or
// accept unfiltered when accept is true) with a panic: log line. Used by the
// processor and by every milter callback that catches an exception.
Outcome InternalErrorOutcome(bool accept, const std::string& what);

// The outcome of a message whose filtering failed (an exception in
// Process(), or a poisoned milter transaction: docs/SECURITY.md). Under
// internal_error_action = tempfail it is InternalErrorOutcome. Under accept
// the message is accepted but never keeps a verdict in our name: every
// forged Authentication-Results with our authserv-id is removed (from
// tx.headers, so tx.body may be empty) and, inbound, our header says
// smime=temperror reason=internal-error; logged at panic severity. Only
// when even that fails is the message accepted without edits.
// remove_forged = false leaves out the deletions (their ordinals are not
// known when a header was lost).
Outcome PoisonedOutcome(const Runtime& rt, const Transaction& tx, const std::string& what,
                        bool remove_forged = true);

}  // namespace smime

#endif  // SMIME_ENGINE_PROCESSOR_H_
