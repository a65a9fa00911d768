// milter/callbacks: see callbacks.h.
#include "milter/callbacks.h"

#include <arpa/inet.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "engine/encryption.h"
#include "engine/processor.h"
#include "milter/body_spool.h"
#include "milter/protocol.h"

namespace smime {

namespace {

MilterGlobals g_globals;

struct Message {
  std::shared_ptr<const Runtime> rt;
  Transaction tx;
  std::unique_ptr<BodySpool> spool;
  // Why this transaction can no longer be judged (an internal error at a
  // RCPT, or under internal_error_action = accept any internal error): end
  // of data tempfails, or under accept gives PoisonedOutcome, instead of
  // deciding on a partial envelope or message.
  std::string poisoned;
  // A header that could not be kept was an Authentication-Results: the
  // forged ones can no longer be found by their ordinals.
  bool lost_ar_header = false;
  // SMFIP_NR_BODY: the refusal of a body that could not be spooled, given
  // at end of data (code, extended code, text); the body is dropped.
  std::string deferred_code, deferred_xcode, deferred_text;
};

// Per connection, never process-wide: one milter socket may serve Postfix
// (protocol 6, leading space kept) and Sendmail or an older Postfix at once.
struct Connection {
  bool leading_space = false;  // SMFIP_HDR_LEADSPC: header values keep their leading space
  bool can_skip = false;       // SMFIP_SKIP: we may skip the rest of an oversized body
  // SMFIP_NR_HDR: the MTA waits for no reply per header (one round trip
  // each saved); a failure while keeping a header is reported at end of data.
  bool no_header_reply = false;
  bool header_lost = false;  // such a failure in the current transaction
  // One of them may have been an Authentication-Results: it was one, or it
  // was lost before the message existed (the message then holds only the
  // later headers, so every ordinal is unknown).
  bool ar_lost = false;
  bool no_data_reply = false;  // SMFIP_NR_DATA
  bool no_eoh_reply = false;   // SMFIP_NR_EOH
  bool no_body_reply = false;  // SMFIP_NR_BODY
  // With SMFIP_NR_BODY: an internal error in a body chunk, which poisons
  // the transaction at end of data.
  std::string body_lost;
  std::string client_addr;
  std::string daemon_name;
  std::unique_ptr<Message> msg;
};

char* Macro(SMFICTX* ctx, const char* name) { return smfi_getsymval(ctx, const_cast<char*>(name)); }

std::string MacroOr(SMFICTX* ctx, const char* name, const std::string& fallback) {
  const char* v = Macro(ctx, name);
  return v && *v ? v : fallback;
}

Connection* Conn(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

// Tolerates a missing context (a callback after a failed connect, or an MTA
// that skipped steps): makes one instead of crashing.
Connection* EnsureConn(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  if (!c) {
    auto fresh = std::make_unique<Connection>();
    if (smfi_setpriv(ctx, fresh.get()) != MI_SUCCESS) return nullptr;
    c = fresh.release();  // owned by the libmilter context until xxfi_close
  }
  return c;
}

Message* EnsureMsg(SMFICTX* ctx) {
  Connection* c = EnsureConn(ctx);
  if (!c) return nullptr;
  if (!c->msg) {
    auto m = std::make_unique<Message>();
    m->rt = g_globals.runtimes->Get();
    m->tx.client_addr = c->client_addr;
    m->tx.daemon_name = c->daemon_name;
    m->spool = std::make_unique<BodySpool>(m->rt->spool_dir, m->rt->spool_memory_limit,
                                           m->rt->max_message_size);
    c->msg = std::move(m);
  }
  return c->msg.get();
}

bool InternalErrorAccept(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  std::shared_ptr<const Runtime> rt = c && c->msg ? c->msg->rt : g_globals.runtimes->Get();
  return rt && rt->internal_error_accept;
}

// What an internal error leaves behind: the message context, or (at a
// RCPT) the context kept but poisoned, so the envelope and the recipients
// already judged are not forgotten by the next RCPT.
enum class PanicScope { kMessage, kRecipient };

// The internal-error disposition for any failure of the filter itself.
// Under internal_error_action = accept a message is not accepted at once
// (that would pass on forged verdicts in our name): it is poisoned, its
// headers are still collected (the body is dropped) and end of data gives
// PoisonedOutcome (docs/SECURITY.md). Only without a message context (a
// failure at connect) is accept answered at once.
sfsistat Panic(SMFICTX* ctx, const std::string& what, PanicScope scope = PanicScope::kMessage) {
  Connection* c = Conn(ctx);
  std::string qid = MacroOr(ctx, "i", "NOQUEUE");
  if (InternalErrorAccept(ctx) && c && c->msg) {
    Outcome o = InternalErrorOutcome(true, what);
    o.fields.clear();
    AppendField(&o.fields, "error", what);
    AppendField(&o.fields, "action", "poisoned");
    AppendField(&o.fields, "reason", "internal_error_action");
    g_globals.log->Write(o.severity, o.LogLine(qid));
    if (c->msg->poisoned.empty()) c->msg->poisoned = what;  // the first cause
    return SMFIS_CONTINUE;
  }
  Outcome o = InternalErrorOutcome(InternalErrorAccept(ctx), what);
  g_globals.log->Write(o.severity, o.LogLine(qid));
  if (g_globals.metrics) g_globals.metrics->CountMessage(o);
  if (c) {
    if (scope == PanicScope::kRecipient && c->msg) {
      if (c->msg->poisoned.empty()) c->msg->poisoned = what;  // the first cause
    } else {
      c->msg.reset();
    }
  }
  if (o.disposition == Disposition::kAccept) return SMFIS_ACCEPT;
  smfi_setreply(ctx, const_cast<char*>(o.reply_code.c_str()),
                const_cast<char*>(o.reply_xcode.c_str()), const_cast<char*>(o.reply_text.c_str()));
  return SMFIS_TEMPFAIL;
}

template <typename F>
sfsistat Guard(SMFICTX* ctx, const char* where, F&& f, PanicScope scope = PanicScope::kMessage) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Panic(ctx, std::string(where) + ": " + e.what(), scope);
  } catch (...) {
    return Panic(ctx, std::string(where) + ": unknown exception", scope);
  }
}

std::string AddressText(const struct sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!sa) return "";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// Header values from the MTA use bare LF between folded lines.
std::string WireValue(const char* value, bool leading_space) {
  std::string in = value ? value : "";
  std::string out = leading_space ? "" : " ";
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) out.push_back('\r');
    out.push_back(in[i]);
  }
  return out;
}

sfsistat OnNegotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                     unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                     unsigned long* pf3) {
  return Guard(ctx, "negotiate", [&] {
    const ProtocolChoice p = ChooseProtocol(f0, f1);
    if (!p.ok) return SMFIS_REJECT;  // the MTA cannot apply our edits
    Connection* c = EnsureConn(ctx);
    if (!c) return Panic(ctx, "negotiate: cannot allocate context");
    c->leading_space = p.leading_space;
    c->can_skip = p.can_skip;
    c->no_header_reply = p.no_header_reply;
    c->no_data_reply = p.no_data_reply;
    c->no_eoh_reply = p.no_eoh_reply;
    c->no_body_reply = p.no_body_reply;
    *pf0 = p.actions;
    *pf1 = p.steps;
    *pf2 = 0;
    *pf3 = 0;
    RequestMacros(ctx, f0);
    return SMFIS_CONTINUE;
  });
}

sfsistat OnConnect(SMFICTX* ctx, char*, _SOCK_ADDR* addr) {
  return Guard(ctx, "connect", [&] {
    Connection* c = EnsureConn(ctx);
    if (!c) return Panic(ctx, "connect: cannot allocate context");
    c->client_addr = AddressText(addr);
    if (c->client_addr.empty()) c->client_addr = MacroOr(ctx, "{client_addr}", "");
    c->daemon_name = MacroOr(ctx, "{daemon_name}", "");
    return SMFIS_CONTINUE;
  });
}

sfsistat OnEnvFrom(SMFICTX* ctx, char** argv) {
  return Guard(ctx, "envfrom", [&] {
    Connection* c = EnsureConn(ctx);
    if (!c) return Panic(ctx, "envfrom: cannot allocate context");
    c->msg.reset();  // a new transaction on the same connection
    c->header_lost = false;
    c->ar_lost = false;
    c->body_lost.clear();
    if (c->daemon_name.empty()) c->daemon_name = MacroOr(ctx, "{daemon_name}", "");
    Message* m = EnsureMsg(ctx);
    m->tx.mail_from = EnvelopeAddress(argv && argv[0] ? argv[0] : "");
    m->tx.sasl_user = MacroOr(ctx, "{auth_authen}", "");
    return SMFIS_CONTINUE;
  });
}

sfsistat OnEnvRcpt(SMFICTX* ctx, char** argv) {
  return Guard(
      ctx, "envrcpt",
      [&] {
        Message* m = EnsureMsg(ctx);
        if (!m) return Panic(ctx, "envrcpt: cannot allocate context");
        if (!argv || !argv[0]) return SMFIS_CONTINUE;
        if (!m->poisoned.empty())
          return Panic(ctx, "envrcpt: earlier " + m->poisoned, PanicScope::kRecipient);
        // Every recipient is reduced to the address the MTA delivers to (or
        // refused) and, when its domain encrypts, judged now, whatever the
        // direction, so the client learns at RCPT time (engine/encryption).
        RcptVerdict v = AddRecipient(*m->rt, argv[0], *g_globals.clock, &m->tx);
        g_globals.log->Write(Severity::kInfo, MacroOr(ctx, "i", "NOQUEUE") + ": rcpt: " + v.fields);
        if (g_globals.metrics) g_globals.metrics->CountRcpt(v.disposition);
        if (v.disposition == Disposition::kAccept) return SMFIS_CONTINUE;
        smfi_setreply(ctx, const_cast<char*>(v.reply_code.c_str()),
                      const_cast<char*>(v.reply_xcode.c_str()),
                      const_cast<char*>(v.reply_text.c_str()));
        return v.disposition == Disposition::kReject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
      },
      PanicScope::kRecipient);
}

sfsistat OnData(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  return c && c->no_data_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

// Not asked for (SMFIP_NOEOH); an MTA that sends it anyway gets no reply.
sfsistat OnEoh(SMFICTX* ctx) {
  Connection* c = Conn(ctx);
  return c && c->no_eoh_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

void KeepHeader(SMFICTX* ctx, char* name, char* value) {
  Message* m = EnsureMsg(ctx);
  if (!m) throw std::bad_alloc();
  Header h{name ? name : "", WireValue(value, EnsureConn(ctx)->leading_space), ""};
  m->tx.message_size += h.name.size() + 1 + h.value.size() + 2;
  m->tx.headers.push_back(std::move(h));
}

sfsistat OnHeader(SMFICTX* ctx, char* name, char* value) {
  Connection* c = Conn(ctx);
  const bool is_ar = name && strcasecmp(name, "Authentication-Results") == 0;
  if (!c || !c->no_header_reply) {
    bool kept = false;
    sfsistat rc = Guard(ctx, "header", [&] {
      KeepHeader(ctx, name, value);
      kept = true;
      return SMFIS_CONTINUE;
    });
    // A header lost to a failure (under accept the message is poisoned and
    // goes on): an Authentication-Results lost shifts the ordinals by which
    // forged ones are deleted.
    c = Conn(ctx);
    if (!kept && c && c->msg && is_ar) c->msg->lost_ar_header = true;
    return rc;
  }
  // No reply is expected: a header that could not be kept fails the message
  // at end of data (tempfail, or poisoned under accept); it is never judged
  // without the header.
  try {
    KeepHeader(ctx, name, value);
  } catch (...) {
    c->header_lost = true;
    if (is_ar || !c->msg) c->ar_lost = true;
  }
  return SMFIS_NOREPLY;
}

// A body that cannot be spooled (state_dir full or unwritable) is not a bug
// of the filter: an error line naming the reason and the reply, 452 4.3.1
// for a full state_dir (RFC 3463: mail system full), 451 4.3.0 otherwise;
// under internal_error_action = accept the message is poisoned instead.
sfsistat SpoolFailure(SMFICTX* ctx, Message* m, const Status& st) {
  const std::string qid = MacroOr(ctx, "i", "NOQUEUE");
  const std::string reason = m->spool->FailureReason();
  if (m->rt->internal_error_accept) {
    std::string fields;
    AppendField(&fields, "error", st.message());
    AppendField(&fields, "reason", reason);
    // One value per name: reason is the spool's; action=poisoned says
    // internal_error_action = accept on its own.
    AppendField(&fields, "action", "poisoned");
    g_globals.log->Write(Severity::kError, qid + ": body: " + fields);
    if (m->poisoned.empty()) m->poisoned = "body: " + reason + ": " + st.message();
    return Conn(ctx)->no_body_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
  }
  const bool full = reason == "spool-full";
  const std::string code = full ? "452" : "451", xcode = full ? "4.3.1" : "4.3.0";
  const std::string text = full
                               ? "Insufficient system storage in the S/MIME filter, try again later"
                               : "Internal error in the S/MIME filter, try again later";
  std::string fields;
  AppendField(&fields, "error", st.message());
  AppendField(&fields, "reason", reason);
  AppendField(&fields, "action", "tempfail");
  AppendField(&fields, "reply", code + " " + xcode);
  g_globals.log->Write(Severity::kError, qid + ": body: " + fields);
  if (Conn(ctx)->no_body_reply) {  // answered at end of data; the body is dropped
    m->deferred_code = code;
    m->deferred_xcode = xcode;
    m->deferred_text = text;
    return SMFIS_NOREPLY;
  }
  Conn(ctx)->msg.reset();
  smfi_setreply(ctx, const_cast<char*>(code.c_str()), const_cast<char*>(xcode.c_str()),
                const_cast<char*>(text.c_str()));
  return SMFIS_TEMPFAIL;
}

// With SMFIP_NR_BODY no chunk is answered: a body that cannot be spooled
// is refused at end of data (the same reply), an internal error poisons the
// transaction there, and the rest of an oversized body is dropped.
sfsistat OnBodyNoReply(SMFICTX* ctx, Connection* c, unsigned char* data, size_t len) {
  try {
    Message* m = EnsureMsg(ctx);
    if (!m) throw std::bad_alloc();
    // Already lost, poisoned or refused: end of data decides without it.
    if (!c->body_lost.empty() || !m->poisoned.empty() || !m->deferred_code.empty())
      return SMFIS_NOREPLY;
    Status st = m->spool->Append(reinterpret_cast<const char*>(data), len);
    if (!st.ok()) SpoolFailure(ctx, m, st);
  } catch (const std::exception& e) {
    if (c->body_lost.empty()) c->body_lost = std::string("body: ") + e.what();
  } catch (...) {
    if (c->body_lost.empty()) c->body_lost = "body: unknown exception";
  }
  return SMFIS_NOREPLY;
}

sfsistat OnBody(SMFICTX* ctx, unsigned char* data, size_t len) {
  if (Connection* c = Conn(ctx); c && c->no_body_reply) return OnBodyNoReply(ctx, c, data, len);
  return Guard(ctx, "body", [&] {
    Message* m = EnsureMsg(ctx);
    // Poisoned: end of data needs only the headers; the body is dropped.
    if (!m->poisoned.empty()) return EnsureConn(ctx)->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
    Status st = m->spool->Append(reinterpret_cast<const char*>(data), len);
    if (!st.ok()) return SpoolFailure(ctx, m, st);
    // The verdict for an oversized message is already decided; stop the transfer.
    if (m->spool->truncated() && EnsureConn(ctx)->can_skip) return SMFIS_SKIP;
    return SMFIS_CONTINUE;
  });
}

// How far ApplyToMta got with the deletions (they come first), and with
// the body (it comes last).
struct Deletions {
  bool attempted = false;  // at least one was sent to the MTA
  bool done = false;       // every one was applied
  int applied = 0;
  // The outcome replaces the body and its edits began: the MTA may hold
  // new Content-* headers over the old body, or part of the new body. A
  // failure now can only be answered with a tempfail (BodyFailure), also
  // under internal_error_action = accept.
  bool replacing = false;
  bool body_done = false;  // the whole new body reached the MTA
};

// Applies o's edits and body; *deletions (if given) says how far the
// deletions got before a failure.
bool ApplyToMta(SMFICTX* ctx, const Outcome& o, bool leading_space, std::string* error,
                Deletions* deletions = nullptr) {
  Deletions unused;
  if (!deletions) deletions = &unused;
  *deletions = Deletions();
  deletions->replacing = o.replace_body;
  for (const HeaderEdit& e : o.edits) {
    if (e.kind == HeaderEdit::Kind::kDelete)
      deletions->attempted = true;
    else
      deletions->done = true;
    int rc;
    if (e.kind == HeaderEdit::Kind::kDelete) {
      rc = smfi_chgheader(ctx, const_cast<char*>(e.name.c_str()), e.index, nullptr);
    } else {
      // With SMFIP_HDR_LEADSPC the MTA writes our value verbatim after the colon.
      std::string value = (leading_space ? " " : "") + e.value;
      if (e.kind == HeaderEdit::Kind::kAppend)
        rc = smfi_addheader(ctx, const_cast<char*>(e.name.c_str()),
                            const_cast<char*>(value.c_str()));
      else
        rc = smfi_insheader(ctx, e.index, const_cast<char*>(e.name.c_str()),
                            const_cast<char*>(value.c_str()));
    }
    if (rc != MI_SUCCESS) {
      *error = std::string(e.kind == HeaderEdit::Kind::kDelete ? "delete " : "insert ") + e.name +
               " failed";
      return false;
    }
    if (e.kind == HeaderEdit::Kind::kDelete) ++deletions->applied;
  }
  if (o.replace_body) {
    // The engine wrote the whole body before deciding (engine/outcome.h):
    // it is copied out of its spool in 64 KB slices. smfi_replacebody
    // appends on each call; the first call discards the old body (an empty
    // body is one empty call).
    bool refused = false;
    auto send = [&](std::string_view s) {
      unsigned char* p = reinterpret_cast<unsigned char*>(const_cast<char*>(s.data()));
      if (smfi_replacebody(ctx, p, static_cast<int>(s.size())) == MI_SUCCESS) return true;
      refused = true;
      return false;
    };
    Status st = o.body.size() == 0 ? Status::Ok() : o.body.ForEachSlice(65536, send);
    if (st.ok() && o.body.size() == 0 && !send(std::string_view())) st = Status::Io("refused");
    if (!st.ok()) {
      *error = refused ? "replace body failed" : "replace body: " + st.message();
      return false;
    }
    deletions->body_done = true;
  }
  deletions->done = true;
  return true;
}

// A new body that failed after its edits began to reach the MTA (a header
// edit or a part refused, its spool could not be read back): the MTA holds
// new headers over the old body or a truncated body, so the answer is a
// tempfail whatever internal_error_action says; on a tempfail at end of
// data the MTA refuses the message (4xx to the client), so neither the
// old nor the partial body is queued (docs/performance.md, "Memory per
// message"). Called outside Guard: a log or count that throws still ends
// in the tempfail.
sfsistat BodyFailure(SMFICTX* ctx, const std::string& event, const std::string& error) {
  try {
    const std::string qid = MacroOr(ctx, "i", "NOQUEUE");
    std::string fields;
    AppendField(&fields, "error", error);
    AppendField(&fields, "reason", "body-replace-failed");
    AppendField(&fields, "action", "tempfail");
    AppendField(&fields, "reply", "451 4.3.0");
    g_globals.log->Write(Severity::kError, qid + ": " + event + ": " + fields);
    if (g_globals.metrics) g_globals.metrics->CountMessage(InternalErrorOutcome(false, error));
  } catch (...) {  // the answer below stands
  }
  if (Connection* c = Conn(ctx)) c->msg.reset();
  smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.3.0"),
                const_cast<char*>("Internal error in the S/MIME filter, try again later"));
  return SMFIS_TEMPFAIL;
}

// End of data of a message poisoned under internal_error_action = accept:
// accepted with PoisonedOutcome's edits (forged verdicts removed, inbound
// smime=temperror), without the deletions when some were sent already (the
// same ones, before a later edit failed: sent again, their ordinals would
// shift onto other headers; if one of them failed, logged forged=unknown)
// or when an Authentication-Results header was lost (its ordinals are
// unknown: a deletion could hit a foreign header; forged=unknown).
sfsistat FinishPoisoned(SMFICTX* ctx, Message* m, const Deletions& earlier) {
  Transaction& tx = m->tx;
  tx.queue_id = MacroOr(ctx, "i", "NOQUEUE");
  Outcome o = PoisonedOutcome(*m->rt, tx, m->poisoned, !m->lost_ar_header && !earlier.attempted);
  if (earlier.attempted && earlier.done)
    AppendField(&o.fields, "removed", std::to_string(earlier.applied));
  std::string forged_why;
  if (earlier.attempted && !earlier.done) forged_why = "deletion-failed";
  if (m->lost_ar_header) forged_why += forged_why.empty() ? "header-lost" : "+header-lost";
  if (!forged_why.empty()) {
    AppendField(&o.fields, "forged", "unknown");
    AppendField(&o.fields, "forged_why", forged_why);
  }
  std::string error;
  if (!ApplyToMta(ctx, o, EnsureConn(ctx)->leading_space, &error)) {
    AppendField(&o.fields, "edits", "failed");
    AppendField(&o.fields, "edits_error", error);
  }
  g_globals.log->Write(o.severity, o.LogLine(tx.queue_id));
  Conn(ctx)->msg.reset();
  return SMFIS_CONTINUE;  // accepted: the administrator's choice
}

// An exception after the message was decided and its edits applied:
// one panic line, reason=decided, with the answer that stands
// (docs/logging.md, "panic").
void DecidedError(SMFICTX* ctx, const Outcome& o, const std::string& what) {
  try {
    std::string fields;
    AppendField(&fields, "error", "eom: after the decision: " + what);
    AppendField(&fields, "action", DispositionName(o.disposition));
    AppendField(&fields, "reason", "decided");
    g_globals.log->Write(Severity::kPanic, MacroOr(ctx, "i", "NOQUEUE") + ": panic: " + fields);
  } catch (...) {  // the log cannot take even this: the answer still stands
  }
}

sfsistat OnEom(SMFICTX* ctx) {
  Deletions deletions;
  sfsistat rc = Guard(ctx, "eom", [&] {
    if (EnsureConn(ctx)->header_lost) {
      Message* lost = EnsureMsg(ctx);
      if (lost->poisoned.empty()) lost->poisoned = "header: cannot keep it";
      // Deletions by ordinal could hit a foreign header: none, forged=unknown.
      if (Conn(ctx)->ar_lost) lost->lost_ar_header = true;
    }
    if (!Conn(ctx)->body_lost.empty()) {
      Message* lost = EnsureMsg(ctx);
      if (lost->poisoned.empty()) lost->poisoned = Conn(ctx)->body_lost;
    }
    Message* m = EnsureMsg(ctx);
    if (!m->deferred_code.empty()) {  // a body that could not be spooled, logged then
      smfi_setreply(ctx, const_cast<char*>(m->deferred_code.c_str()),
                    const_cast<char*>(m->deferred_xcode.c_str()),
                    const_cast<char*>(m->deferred_text.c_str()));
      Conn(ctx)->msg.reset();
      return SMFIS_TEMPFAIL;
    }
    if (!m->poisoned.empty()) {
      if (m->rt->internal_error_accept) return SMFIS_CONTINUE;  // finished below
      return Panic(ctx, "eom: earlier " + m->poisoned);
    }
    Transaction& tx = m->tx;
    tx.queue_id = MacroOr(ctx, "i", "NOQUEUE");
    Status st = m->spool->Take(&tx.body);
    if (!st.ok()) return Panic(ctx, "eom: " + st.message());
    tx.message_size += 2 + m->spool->size();
    tx.truncated = m->spool->truncated();
    Outcome o = Process(*m->rt, tx, *g_globals.clock);
    if (o.disposition == Disposition::kAccept) {
      std::string error;
      // A verdict that cannot be written (or a forged one that cannot be
      // removed) must not reach the mailbox: tempfail instead (under
      // accept: the poisoned end below).
      if (!ApplyToMta(ctx, o, EnsureConn(ctx)->leading_space, &error, &deletions))
        return deletions.replacing ? BodyFailure(ctx, o.event, error) : Panic(ctx, "eom: " + error);
    }
    sfsistat answer = SMFIS_CONTINUE;
    if (o.disposition != Disposition::kAccept) {
      smfi_setreply(ctx, const_cast<char*>(o.reply_code.c_str()),
                    const_cast<char*>(o.reply_xcode.c_str()),
                    const_cast<char*>(o.reply_text.c_str()));
      answer = o.disposition == Disposition::kReject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
    }
    // Decided, and every edit is with the MTA: an exception while logging
    // or counting must not change the answer (Panic's tempfail would drop
    // a message already edited, the poisoned end would add its edits on
    // top of ours).
    try {
      g_globals.log->Write(o.severity, o.LogLine(tx.queue_id));
      if (g_globals.metrics) g_globals.metrics->CountMessage(o);
    } catch (const std::exception& e) {
      DecidedError(ctx, o, e.what());
    } catch (...) {
      DecidedError(ctx, o, "unknown exception");
    }
    Conn(ctx)->msg.reset();
    return answer;
  });
  // Still a poisoned message here only under internal_error_action = accept
  // (Panic resets it otherwise): poisoned earlier or by a failure just now.
  Connection* c = Conn(ctx);
  if (!c || !c->msg || c->msg->poisoned.empty()) return rc;
  // An exception while the new headers or body were being sent: the MTA
  // holds part of them, which accepting the poisoned message would deliver.
  if (deletions.replacing && !deletions.body_done)
    return BodyFailure(ctx, "panic", std::string(c->msg->poisoned));
  try {
    return FinishPoisoned(ctx, c->msg.get(), deletions);
  } catch (...) {
    c->msg.reset();  // not even that: accepted as it is, the administrator's choice
    return SMFIS_CONTINUE;
  }
}

sfsistat OnAbort(SMFICTX* ctx) {
  if (Connection* c = Conn(ctx)) c->msg.reset();
  return SMFIS_CONTINUE;
}

sfsistat OnClose(SMFICTX* ctx) {
  std::unique_ptr<Connection> c(Conn(ctx));
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

void SetMilterGlobals(const MilterGlobals& g) { g_globals = g; }

struct smfiDesc MilterDescription() {
  struct smfiDesc d = {};
  d.xxfi_name = const_cast<char*>("smime-milter");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_SETSYMLIST;
  d.xxfi_connect = OnConnect;
  d.xxfi_envfrom = OnEnvFrom;
  d.xxfi_envrcpt = OnEnvRcpt;
  d.xxfi_header = OnHeader;
  d.xxfi_body = OnBody;
  d.xxfi_eom = OnEom;
  d.xxfi_abort = OnAbort;
  d.xxfi_close = OnClose;
  d.xxfi_data = OnData;
  d.xxfi_eoh = OnEoh;
  d.xxfi_negotiate = OnNegotiate;
  return d;
}

}  // namespace smime
