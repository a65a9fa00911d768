// engine/decryption: inbound mail encrypted to our users is opened, without
// making the gateway a decryption oracle (docs/decryption.md).
//
// Entry point: TryDecrypt(), called by Process (engine/processor) for
// inbound mail before the signature is verified. It decrypts only when
//  - some recipient domain has decrypt = yes (else nothing happens at all:
//    kNotEncrypted, the message is judged as before),
//  - the message as a whole is one EnvelopedData or AuthEnvelopedData
//    (engine/outbound EncryptedCmsDer: one Content-Type, base64 only, one
//    DER, nothing after it), or a triple-wrapped message (RFC 2634) whose
//    top-level signature covers exactly such an entity (wrapped); a sub-part
//    is never decrypted,
//  - every envelope recipient of the transaction is in a domain with
//    decrypt = yes (and not encrypt = required) and has a key in
//    decryption_keys whose certificate a RecipientInfo names.
// Otherwise, and when decryption fails (corrupt data, GCM tag or CBC
// padding wrong, unsupported cipher), the result is kKept with a reason:
// the message is delivered untouched. The plaintext is complete and checked
// before any edit is planned; nothing partial is ever delivered.
//
// On kDecrypted, edits and body replace the outer Content-* headers and the
// body by the inner entity's, and delivered is tx with them applied (what the
// MTA will deliver, which the processor verifies). RFC 9788: when the
// payload (the inner entity, or the content it signs) has hp="cipher", the
// protected fields the sender hid (mime/header_protection HeadersToRestore,
// never From: or Sender:) replace the outer ones through edits too; they are
// left out of delivered, so nothing restored can move the verdict. An
// ambiguous payload header restores nothing (hp_restored = "no"). Whether CBC content may
// be delivered without an inner signature that passes is the processor's
// call (authenticated, unauthenticated_ok): it needs the verdict.
#ifndef SMIME_ENGINE_DECRYPTION_H_
#define SMIME_ENGINE_DECRYPTION_H_

#include <string>
#include <vector>

#include "engine/outcome.h"
#include "engine/runtime.h"
#include "engine/transaction.h"

namespace smime {

struct DecryptionAttempt {
  enum class State { kNotEncrypted, kKept, kDecrypted };
  State state = State::kNotEncrypted;
  std::string reason;  // kKept: short, machine-readable
  std::string detail;  // OpenSSL's words or the recipient concerned, for the log
  // kDecrypted:
  bool wrapped = false;             // the envelope was inside a top-level signature
  bool authenticated = false;       // AuthEnvelopedData
  bool unauthenticated_ok = false;  // every recipient's domain: decrypt_unauthenticated = yes
  std::string cipher;               // "aes-256-gcm", ...
  std::string key_fingerprint;      // SHA-256 of the certificate whose key opened it
  std::string key_origin;           // decryption_keys file:line
  std::vector<HeaderEdit> edits;    // deletions (Content-*, restored names), then the
                                    // inner Content-* and the restored fields appended
  // RFC 9788 restore (hp="cipher" payload): the names restored ("none" when
  // nothing differed), "no" for an ambiguous payload header; empty without
  // header protection. detail says why, or which listed names were skipped.
  std::string hp_restored;
  std::string hp_restore_detail;
  std::string body;       // the inner entity's body (CRLF)
  Transaction delivered;  // tx with edits and body applied
};

DecryptionAttempt TryDecrypt(const Runtime& rt, const Transaction& tx);

}  // namespace smime

#endif  // SMIME_ENGINE_DECRYPTION_H_
