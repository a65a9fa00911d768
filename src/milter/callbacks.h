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
