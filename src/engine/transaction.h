// engine/transaction: the neutral record of one message as the MTA saw it.
//
// The milter callbacks and `smimectl process` both fill a Transaction; the
// processor never sees libmilter. Headers keep their raw value (everything
// after the colon, folding included) and their order, so forged headers can
// be deleted by per-name ordinal.
#ifndef SMIME_ENGINE_TRANSACTION_H_
#define SMIME_ENGINE_TRANSACTION_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace smime {

struct RecipientChoice;  // certdir/recipient_directory.h

enum class Direction { kAuto, kInbound, kOutbound };

const char* DirectionName(Direction d);

// How an outbound recipient wants the message (engine/encryption decides at
// RCPT time): encrypted only, clear only, or either (opportunistic with a
// usable certificate). One transaction gets one treatment.
enum class RcptClass { kFlexible, kEncrypt, kClear };

struct Header {
  std::string name;
  std::string value;  // raw, after the colon; continuation lines joined by CRLF
  // The name as written when it had blanks before the colon ("Subject :"),
  // else empty. MTAs hand milters the bare name (so `name` is what deletes
  // and matches), but deliver the line as written: the wire form keeps it,
  // so the one-reading check sees what a reader will (docs/verification.md).
  std::string spelled_name;
};

struct Transaction {
  Direction direction = Direction::kAuto;  // kAuto: decided by policy/direction
  std::string queue_id = "NOQUEUE";
  std::string mail_from;
  std::vector<std::string> rcpts;
  std::vector<RcptClass> rcpt_classes;  // parallel to rcpts once decided (when any domain encrypts)
  // Parallel to rcpt_classes: the certificate chosen at RCPT (null when
  // none was), which end of data reuses while the sources are unchanged
  // (engine/encryption PlanEncryption).
  std::vector<std::shared_ptr<const RecipientChoice>> rcpt_choices;
  std::string client_addr;
  std::string sasl_user;
  std::string daemon_name;
  std::vector<Header> headers;
  std::string body;         // CRLF line ends, as on the wire
  size_t message_size = 0;  // header + body bytes as received
  bool truncated = false;   // the body exceeded the spool limit and was not kept whole
  // The header section ended at a line that is not a field, without the
  // blank line (raw input only; an MTA reports just the end of headers).
  // The wire form then has no blank line either, as delivered.
  bool no_header_separator = false;
};

// An envelope address as policy and certificate lookups want it: the
// clean form of mime/rcpt_address ParseRcptAddress ("<carol@B.Example.>" ->
// "carol@b.example", U-label domains as A-labels); an address that is not
// clean only loses its angle brackets and the trailing dots of its domain.
// Recipients are never judged from an unclean form: AddRecipient refuses
// them (engine/encryption).
std::string EnvelopeAddress(const std::string& arg);

// The raw values of every header named name (case-insensitive), in order.
std::vector<std::string> HeaderValues(const Transaction& tx, const char* name);

// Splits a whole message (LF or CRLF) into headers and body. Bad header
// lines (no colon) end the header section, as in RFC 5322 parsers that
// recover; never fails.
void ParseRawMessage(const std::string& raw, Transaction* tx);
// The same taking the text over (left empty): a message already in CRLF
// is split in place, its body moved out without a second copy
// (docs/performance.md, "Memory per message").
void ParseRawMessage(std::string&& raw, Transaction* tx);

// Headers and body joined back into CRLF wire form.
std::string WireMessage(const Transaction& tx);

}  // namespace smime

#endif  // SMIME_ENGINE_TRANSACTION_H_
