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
// and add our header at the top. Outbound: engine/outbound applies the
// signing policy. Then, in either direction, encrypt when a recipient's
// domain asks for it (engine/outbound EncryptForRecipients). All network
// waits of one call (revocation of every signer's chain, recipient lookups)
// share one deadline, rt.eom_deadline_ms from the start (base/deadline.h),
// so the answer comes before the MTA's milter_content_timeout; what it cuts
// short is revocation status unknown (smime=temperror under revocation =
// hard; log revocation=unavailable (deadline)) or 451 4.7.1 for encryption
// (log reason=deadline). An unexpected exception becomes the internal-error
// disposition (451 4.3.0) with a panic: log.
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

}  // namespace smime

#endif  // SMIME_ENGINE_PROCESSOR_H_
