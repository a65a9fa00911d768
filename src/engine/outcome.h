// engine/outcome: what the engine decided about one message.
//
// An Outcome is data only: the milter maps it onto smfi_* calls, the CLI
// applies it to the message text, tests inspect it. Dispositions, results
// and errors are separate types on purpose.
#ifndef SMIME_ENGINE_OUTCOME_H_
#define SMIME_ENGINE_OUTCOME_H_

#include <string>
#include <vector>

#include "annotate/auth_results.h"
#include "base/log.h"
#include "base/spool_buffer.h"
#include "engine/transaction.h"

namespace smime {

enum class Disposition { kAccept, kTempFail, kReject };

const char* DispositionName(Disposition d);

struct HeaderEdit {
  enum class Kind { kInsert, kDelete, kAppend };
  Kind kind = Kind::kInsert;
  std::string name;
  std::string value;  // kInsert/kAppend: value without leading space, folded with "\n\t"
  int index = 0;      // kInsert: position (0 = top); kDelete: 1-based ordinal among
                      // headers of this name, as smfi_chgheader counts; kAppend: unused
};

struct Outcome {
  Disposition disposition = Disposition::kAccept;
  std::string reply_code;   // for kTempFail/kReject, e.g. "451"
  std::string reply_xcode;  // e.g. "4.3.0"
  std::string reply_text;
  Direction direction = Direction::kInbound;
  AuthResult verdict = AuthResult::kNone;  // message-level result
  std::vector<SignatureResult> results;    // one per signature clause
  std::vector<HeaderEdit> edits;           // deletions first (highest ordinal first), then inserts
  bool replace_body = false;               // body holds the new body (CRLF)
  // The new body, written whole by the engine before it decides to accept
  // (in memory up to spool_memory_limit, then in a private file under
  // state_dir); the milter and the CLI only copy it out in slices.
  SpoolBuffer body;
  Severity severity = Severity::kInfo;
  std::string event;   // "verify", "outbound", "panic", ...
  std::string fields;  // "from=<a@b>, result=pass, ..." (without queue id and event),
                       // built with AppendField so every value is escaped
  std::string note;    // free text (e.g. OpenSSL's words), logged last as the
                       // field detail="..." (docs/logging.md); the only
                       // detail of the line: fields never carry one

  // Adds text to note ("earlier; text"): a later step never drops what an
  // earlier one noted.
  void AddNote(const std::string& text);

  // "QUEUEID: event: fields, detail=\"note\"".
  std::string LogLine(const std::string& queue_id) const;
};

// Applies the edits (and a new body) to tx, as the MTA would. False (tx's
// body then empty) when the new body cannot be read back.
bool ApplyEdits(const Outcome& o, Transaction* tx);

// Machine-readable form for `smimectl process --report` (one JSON object).
std::string OutcomeJson(const Outcome& o, const std::string& queue_id);

}  // namespace smime

#endif  // SMIME_ENGINE_OUTCOME_H_
