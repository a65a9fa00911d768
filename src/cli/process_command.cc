// cli/process_command: `smimectl process`, the engine on one message.
//
// Reads the message (file or stdin, LF or CRLF), builds the same Transaction
// the milter builds, runs Process(), applies the edits and writes the message
// as the MTA would deliver it (in the input's line-end style). The log line
// goes to stderr; --report prints the Outcome as JSON instead of the message.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string_view>

#include "base/clock.h"
#include "base/log.h"
#include "base/safe_file.h"
#include "cli/commands.h"
#include "config/config.h"
#include "engine/encryption.h"
#include "engine/processor.h"
#include "engine/runtime.h"

namespace smime {

namespace {

int Usage(const std::string& why) {
  std::fprintf(stderr, "smimectl: process: %s\n", why.c_str());
  return kExitUsage;
}

// Writes s, without the CR of each CRLF when strip_cr, in slices (no
// second copy of a large body).
// Writes s; with strip_cr every CRLF becomes LF. *held_cr carries a CR
// that ended the previous piece (its LF may start this one); the last
// piece is written with at_end, which writes a CR still held.
void WriteOut(std::string_view s, bool strip_cr, bool* held_cr = nullptr, bool at_end = true) {
  if (!strip_cr) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    return;
  }
  bool unused = false;
  if (!held_cr) held_cr = &unused;
  std::string chunk;
  if (*held_cr && (s.empty() || s[0] != '\n')) chunk.push_back('\r');
  *held_cr = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 == s.size() && !at_end) {
      *held_cr = true;
      break;
    }
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) chunk.push_back(s[i]);
    if (chunk.size() >= 65536) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      chunk.clear();
    }
  }
  std::fwrite(chunk.data(), 1, chunk.size(), stdout);
}

}  // namespace

int LoadRuntime(const std::string& config_path, std::unique_ptr<Runtime>* rt) {
  Config config;
  Status st = config.Load(config_path);
  // Files of the service user (state_dir, keys) are trusted like root's.
  if (st.ok()) SetServiceAccountByName(config.Str("user"));
  if (st.ok()) st = BuildRuntime(config, rt);
  if (!st.ok()) {
    std::fprintf(stderr, "smimectl: fatal: %s\n", st.message().c_str());
    return kExitConfig;
  }
  return kExitOk;
}

int ProcessCommand(const std::string& config_path, const std::vector<std::string>& args) {
  Transaction tx;
  bool report = false;
  std::string file = "-";
  std::time_t now = 0;
  bool have_now = false, have_file = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--inbound")
      tx.direction = Direction::kInbound;
    else if (a == "--outbound")
      tx.direction = Direction::kOutbound;
    else if (a == "--report")
      report = true;
    else if (a == "--from") {
      if (!value(&v)) return Usage("--from needs an address");
      tx.mail_from = EnvelopeAddress(v);
    } else if (a == "--rcpt") {
      if (!value(&v)) return Usage("--rcpt needs an address");
      tx.rcpts.push_back(v);  // normalised by AddRecipient
    } else if (a == "--client-ip") {
      if (!value(&tx.client_addr)) return Usage("--client-ip needs an address");
    } else if (a == "--sasl-user") {
      if (!value(&tx.sasl_user)) return Usage("--sasl-user needs a name");
    } else if (a == "--queue-id") {
      if (!value(&tx.queue_id)) return Usage("--queue-id needs an id");
    } else if (a == "--now") {
      if (!value(&v) || v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
        return Usage("--now needs seconds since the epoch");
      now = static_cast<std::time_t>(std::strtoll(v.c_str(), nullptr, 10));
      have_now = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option " + a);
    } else {
      if (have_file) return Usage("only one message file");
      file = a;
      have_file = true;
    }
  }

  std::unique_ptr<Runtime> rt;
  if (int rc = LoadRuntime(config_path, &rt); rc != kExitOk) return rc;

  std::string raw;
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    raw = ss.str();
  } else {
    // Read at its size: a stream buffer and its copy would hold it twice.
    // A FIFO, /dev/stdin or a /proc file has no size: read it as a stream.
    std::ifstream in(file, std::ios::binary);
    if (!in) return Usage("cannot read " + file);
    in.seekg(0, std::ios::end);
    const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
    in.clear();
    if (size > 0 && in.seekg(0)) {
      raw.resize(static_cast<size_t>(size));
      if (!in.read(&raw[0], size)) return Usage("cannot read " + file);
    } else {
      std::ostringstream ss;
      ss << in.rdbuf();
      raw = ss.str();
    }
  }
  const bool lf_only = raw.find('\r') == std::string::npos;
  ParseRawMessage(std::move(raw), &tx);  // the transaction holds the message now

  std::unique_ptr<Clock> clock;
  if (have_now)
    clock = std::make_unique<FixedClock>(now);
  else
    clock = std::make_unique<SystemClock>();

  // RCPT time, as the milter does it: recipients that must be refused or
  // sent separately are reported and left out of the transaction.
  Disposition refused = Disposition::kAccept;
  const std::vector<std::string> all = std::move(tx.rcpts);
  tx.rcpts.clear();
  for (const std::string& r : all) {
    RcptVerdict v = AddRecipient(*rt, r, *clock, &tx);
    if (v.disposition == Disposition::kAccept) continue;
    std::fprintf(stderr, "smimectl: rcpt <%s>: %s %s %s\n", r.c_str(), v.reply_code.c_str(),
                 v.reply_xcode.c_str(), v.reply_text.c_str());
    if (refused != Disposition::kTempFail) refused = v.disposition;
  }
  if (tx.rcpts.empty() && !all.empty() && refused != Disposition::kAccept)
    return refused == Disposition::kReject ? kExitReject : kExitTempFail;
  Outcome o = Process(*rt, tx, *clock);

  StderrLog log("smimectl");
  log.Write(o.severity, o.LogLine(tx.queue_id));
  if (report) {
    std::printf("%s\n", OutcomeJson(o, tx.queue_id).c_str());
  } else if (o.disposition == Disposition::kAccept) {
    // The message is written as WireMessage would join it, body apart: the
    // received body, or (the old one freed first) the new one, copied out
    // of the engine's spool in slices (engine/outcome.h).
    const bool replaced = o.replace_body;
    o.replace_body = false;
    std::string body;
    body.swap(tx.body);
    if (replaced) std::string().swap(body);
    ApplyEdits(o, &tx);
    WriteOut(WireMessage(tx), lf_only);
    if (!replaced) {
      WriteOut(body, lf_only);
    } else {
      bool held_cr = false;
      Status st = o.body.ForEachSlice(65536, [&](std::string_view s) {
        WriteOut(s, lf_only, &held_cr, false);
        return true;
      });
      WriteOut(std::string_view(), lf_only, &held_cr, true);
      if (!st.ok()) {
        // Part of the body is out already: the caller must not use it.
        std::fflush(stdout);
        std::fprintf(stderr, "smimectl: cannot write the new body: %s\n", st.message().c_str());
        return kExitTempFail;
      }
    }
  } else {
    std::fprintf(stderr, "smimectl: %s %s %s\n", o.reply_code.c_str(), o.reply_xcode.c_str(),
                 o.reply_text.c_str());
  }
  if (std::fflush(stdout) != 0) return kExitInternal;
  switch (o.disposition) {
    case Disposition::kAccept: return kExitOk;
    case Disposition::kTempFail: return kExitTempFail;
    case Disposition::kReject: return kExitReject;
  }
  return kExitInternal;
}

}  // namespace smime
