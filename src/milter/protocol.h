// milter/protocol: what smime-milter asks of the MTA when a connection
// starts (the milter protocol's negotiation): the edits it makes, the
// steps it needs, the steps that need no reply, and the macros it reads.
// Every step left out or left unanswered saves the MTA and the daemon
// work per message (docs/performance.md, "Through Postfix").
//
// Entry points: ChooseProtocol (pure, from the MTA's offer) and
// RequestMacros (smfi_setsymlist, when the MTA offers SMFIF_SETSYMLIST).
// Used by the callbacks and by the no-op milter of the load benchmark
// (tests/perf/noop-milter.cc), so both negotiate the same protocol.
// Failure mode: an MTA that cannot apply our edits (ok = false): the
// connection is refused at negotiation.
#ifndef SMIME_MILTER_PROTOCOL_H_
#define SMIME_MILTER_PROTOCOL_H_

#include <libmilter/mfapi.h>

namespace smime {

struct ProtocolChoice {
  bool ok = false;               // the MTA can apply every edit we make
  unsigned long actions = 0;     // *pf0 of xxfi_negotiate
  unsigned long steps = 0;       // *pf1: steps left out or unanswered, a subset of the offer
  bool leading_space = false;    // SMFIP_HDR_LEADSPC: header values keep their leading space
  bool can_skip = false;         // SMFIP_SKIP: we may skip the rest of an oversized body
  bool no_header_reply = false;  // SMFIP_NR_HDR
  bool no_data_reply = false;    // SMFIP_NR_DATA
  bool no_eoh_reply = false;     // SMFIP_NR_EOH
  bool no_body_reply = false;    // SMFIP_NR_BODY
};

// f0, f1: the actions and steps the MTA offers.
ProtocolChoice ChooseProtocol(unsigned long f0, unsigned long f1);

// Asks for only the macros the callbacks read, per step (f0: the MTA's
// offered actions; nothing is asked without SMFIF_SETSYMLIST).
void RequestMacros(SMFICTX* ctx, unsigned long f0);

}  // namespace smime

#endif  // SMIME_MILTER_PROTOCOL_H_
