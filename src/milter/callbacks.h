// milter/callbacks: libmilter glue. The callbacks only collect the
// envelope, macros, headers and body into a Transaction; at end-of-message
// they call the engine (Process) exactly as `smimectl process` does and map
// its Outcome onto smfi_* edits and a reply.
//
// Entry point: MilterDescription() for smfi_register, after
// SetMilterGlobals(). Every callback tolerates a missing context and
// catches every exception, answering with the internal-error disposition
// (tempfail 451 4.3.0 by default) and a panic: log line. A failure in the
// RCPT step keeps the envelope but poisons the transaction: later RCPTs and
// end of data tempfail too (docs/encryption.md, "Internal errors at RCPT").
// Under internal_error_action = accept any failure poisons the message
// instead of accepting it at once: headers are still read and end of data
// removes forged verdicts and writes smime=temperror (engine
// PoisonedOutcome; docs/SECURITY.md, "Robustness"). A body that cannot be
// spooled is an error line with reason=spool-full (452 4.3.1) or
// spool-failed (451 4.3.0), not a panic. The MTA is asked for no DATA and
// no end-of-header step and for no reply to headers and body chunks
// (milter/protocol): then a refusal or internal error there is answered at
// end of data.
// callbacks_test drives these callbacks with a stand-in for libmilter.
#ifndef SMIME_MILTER_CALLBACKS_H_
#define SMIME_MILTER_CALLBACKS_H_

#include <libmilter/mfapi.h>

#include "base/clock.h"
#include "base/log.h"
#include "milter/metrics.h"
#include "milter/runtime_holder.h"

namespace smime {

struct MilterGlobals {
  RuntimeHolder* runtimes = nullptr;  // must outlive smfi_main()
  LogSink* log = nullptr;
  const Clock* clock = nullptr;
  Metrics* metrics = nullptr;  // optional: counts outcomes
};

void SetMilterGlobals(const MilterGlobals& g);
struct smfiDesc MilterDescription();

}  // namespace smime

#endif  // SMIME_MILTER_CALLBACKS_H_
