// milter/protocol: see protocol.h.
#include "milter/protocol.h"

#include <libmilter/mfdef.h>

namespace smime {

ProtocolChoice ChooseProtocol(unsigned long f0, unsigned long f1) {
  ProtocolChoice p;
  const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
  if ((f0 & actions) != actions) return p;  // the MTA cannot apply our edits
  p.ok = true;
  p.actions = actions | (f0 & SMFIF_SETSYMLIST);
  unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN;
  p.leading_space = (f1 & SMFIP_HDR_LEADSPC) != 0;
  p.can_skip = (f1 & SMFIP_SKIP) != 0;
  if (p.leading_space) steps |= SMFIP_HDR_LEADSPC;
  if (p.can_skip) steps |= SMFIP_SKIP;
  // Steps that never refuse anything need no reply: headers (only an
  // internal error could stop one, kept for end of data) and DATA. Steps we
  // do not use are not sent at all: DATA and the end of the header (the
  // headers are judged at end of data). An MTA that sends them anyway (as
  // miltertest does) gets no reply either (SMFIP_NR_DATA, SMFIP_NR_EOH).
  p.no_header_reply = (f1 & SMFIP_NR_HDR) != 0;
  p.no_data_reply = (f1 & SMFIP_NR_DATA) != 0;
  p.no_eoh_reply = (f1 & SMFIP_NR_EOH) != 0;
  // Body chunks need no reply either: what could refuse the message there
  // (a body that cannot be spooled) is answered at end of data, which the
  // SMTP client sees at the same moment; an oversized body is no longer cut
  // short (SMFIS_SKIP), its rest is dropped as it comes.
  p.no_body_reply = (f1 & SMFIP_NR_BODY) != 0;
  steps |= SMFIP_NR_HDR | SMFIP_NR_DATA | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NODATA | SMFIP_NOEOH;
  p.steps = steps & f1;
  return p;
}

void RequestMacros(SMFICTX* ctx, unsigned long f0) {
  if (!(f0 & SMFIF_SETSYMLIST)) return;
  // Each macro asked for is sent before its step, read and stored by
  // libmilter: only what the callbacks read ({daemon_name} also at MAIL,
  // for an MTA that has none at connect; the queue ID wherever we log).
  smfi_setsymlist(ctx, SMFIM_CONNECT, const_cast<char*>("{daemon_name} {client_addr}"));
  smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("i {auth_authen} {daemon_name}"));
  smfi_setsymlist(ctx, SMFIM_ENVRCPT, const_cast<char*>("i"));
  smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
}

}  // namespace smime
