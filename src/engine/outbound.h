// engine/outbound: the decision for mail leaving our domains.
//
// Entry point: OutboundOutcome(), called by Process() for outbound
// transactions. It applies the sender domain's `sign` policy: finds the
// From: address's identity, checks that the submitter may sign as it (SMTP
// AUTH login via signing_users, or an internal host when
// a client in signing_relays), refuses expired, not yet valid or revoked
// identities, and signs clear or opaque (opaque also when a recipient
// domain asks for it). Mail already signed or encrypted passes untouched.
// When signing is required but impossible the outcome is a tempfail or
// reject with a precise reply and an error log, never unsigned mail; only
// sign = if-possible (or unauthorized_sender = unsigned) lets it go unsigned,
// and the log says why. Then the recipients' domains decide encryption
// (engine/encryption), with header protection (RFC 9788) by the lowest
// header_protection among the recipients' domains: hp="clear" inside
// signed-only mail, hp="cipher" (and, for cipher, the outer Subject hidden)
// inside encrypted mail (docs/header-protection.md). "Already encrypted"
// means exactly one base64 EnvelopedData/AuthEnvelopedData with nothing
// after it. Revocation checks
// and certificate lookups wait no longer than deadline, the end-of-data
// step's (Process creates it from eom_deadline).
#ifndef SMIME_ENGINE_OUTBOUND_H_
#define SMIME_ENGINE_OUTBOUND_H_

#include <string>

#include "base/clock.h"
#include "base/deadline.h"
#include "engine/outcome.h"
#include "engine/runtime.h"
#include "engine/transaction.h"

namespace smime {

void OutboundOutcome(const Runtime& rt, const Transaction& tx, const Clock& clock,
                     const Deadline& deadline, const std::string& why, Outcome* o);

// Encryption alone (no signing), for mail that is not outbound: Process()
// calls it after the inbound verdict, so mail to a domain that requires
// encryption is encrypted (or refused) in every direction. The content
// (Content-* headers and body) is encrypted as received, signature
// included; the header edits already in o (the Authentication-Results)
// stay in the outer header. Does nothing when o is already a refusal.
void EncryptForRecipients(const Runtime& rt, const Transaction& tx, const Clock& clock,
                          const Deadline& deadline, Outcome* o);

// True only when the message is exactly one CMS EnvelopedData or
// AuthEnvelopedData and nothing else (outbound.cc says precisely what that
// takes); der, when not null, then receives that DER. Used for "already
// encrypted" here and for "may be decrypted" by engine/decryption.
bool EncryptedCmsDer(const Transaction& tx, const MimeLimits& limits, std::string* der);
bool IsEncryptedCms(const Transaction& tx, const MimeLimits& limits);

// Adds to o the deletion of every Content-* header of tx (highest ordinal of
// each name first, as HeaderEdit wants).
void DeleteContentHeaders(const Transaction& tx, Outcome* o);

}  // namespace smime

#endif  // SMIME_ENGINE_OUTBOUND_H_
