// milter/metrics: see metrics.h.
#include "milter/metrics.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "base/defaults.h"
#include "engine/runtime.h"

namespace smime {

namespace {

// Help and type lines, once per metric name.
const std::map<std::string, std::string>& Help() {
  static const std::map<std::string, std::string> help = {
      {"smime_milter_messages_total",
       "Messages judged at end of data, by direction, verdict (inbound) and disposition."},
      {"smime_milter_rcpt_total", "Recipients judged at RCPT time, by disposition."},
      {"smime_milter_panics_total", "Internal errors answered with the internal_error_action."},
      {"smime_milter_reloads_total", "Reloads (SIGUSR1), by result."},
      {"smime_milter_revocation_checks_total",
       "Revocation checks logged (signers and signing identities), by status and source "
       "(ocsp, crl, cache: a cache hit, deadline)."},
      {"smime_milter_refusals_total",
       "Messages refused (tempfail or reject) at end of data, by the reason= of their log "
       "line."},
  };
  return help;
}

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += std::string("\\") + c;
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

// A log line's fields as (name, value) pairs, read as docs/logging.md
// says: split at ", " (values are escaped, so none holds it), the name up
// to the first '='. Values stay as logged (escaped, quotes kept).
std::vector<std::pair<std::string, std::string>> SplitFields(const std::string& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < fields.size()) {
    size_t end = fields.find(", ", start);
    if (end == std::string::npos) end = fields.size();
    const std::string field = fields.substr(start, end - start);
    const size_t eq = field.find('=');
    if (eq != std::string::npos) out.emplace_back(field.substr(0, eq), field.substr(eq + 1));
    start = end + 2;
  }
  return out;
}

}  // namespace

void Metrics::CountMessage(const Outcome& o) {
  std::string key;
  if (o.event == "panic") {
    key = "smime_milter_panics_total";
  } else {
    const bool inbound = o.direction == Direction::kInbound;
    key = std::string("smime_milter_messages_total{direction=\"") +
          (inbound ? "inbound" : "outbound") + "\",result=\"" +
          (inbound ? AuthResultName(o.verdict) : "-") + "\",disposition=\"" +
          DispositionName(o.disposition) + "\"}";
  }
  std::vector<std::string> more;
  const auto fields = SplitFields(o.fields);
  if (o.event != "panic" && o.disposition != Disposition::kAccept) {
    std::string reason = "-";
    for (const auto& [name, value] : fields)
      if (name == "reason") {
        reason = value;
        break;
      }
    more.push_back("smime_milter_refusals_total{reason=\"" + Label(reason) + "\"}");
  }
  // Each revocation check of the line (per signer, and the signing
  // identity's): its status and where the answer came from (cache hits,
  // deadline cuts, unavailable responders).
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].first != "revocation") continue;
    const bool sourced = i + 1 < fields.size() && fields[i + 1].first == "revocation_source";
    more.push_back("smime_milter_revocation_checks_total{status=\"" + Label(fields[i].second) +
                   "\",source=\"" + Label(sourced ? fields[i + 1].second : "-") + "\"}");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_[key];
  for (const std::string& k : more) ++counters_[k];
}

void Metrics::CountRcpt(Disposition d) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_[std::string("smime_milter_rcpt_total{disposition=\"") + DispositionName(d) + "\"}"];
}

void Metrics::CountReload(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_[std::string("smime_milter_reloads_total{result=\"") + (ok ? "ok" : "failed") + "\"}"];
}

std::string Metrics::Render(const Runtime* rt, std::time_t now) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string last_name;
    for (const auto& [key, value] : counters_) {
      const std::string name = key.substr(0, key.find('{'));
      if (name != last_name) {
        auto h = Help().find(name);
        if (h != Help().end()) out += "# HELP " + name + " " + h->second + "\n";
        out += "# TYPE " + name + " counter\n";
        last_name = name;
      }
      out += key + " " + std::to_string(value) + "\n";
    }
  }
  if (rt) {
    out += "# HELP smime_milter_trust_anchors Trust anchors loaded.\n";
    out += "# TYPE smime_milter_trust_anchors gauge\n";
    out += "smime_milter_trust_anchors " + std::to_string(rt->trust.anchor_count()) + "\n";
    out += "# HELP smime_milter_signing_identities Signing identities loaded.\n";
    out += "# TYPE smime_milter_signing_identities gauge\n";
    out += "smime_milter_signing_identities " + std::to_string(rt->identities.size()) + "\n";
    int64_t admin = 0, harvested = 0;
    if (rt->cert_store && rt->cert_store->Count(&admin, &harvested).ok()) {
      out += "# HELP smime_milter_certificates_stored Recipient certificates in the store.\n";
      out += "# TYPE smime_milter_certificates_stored gauge\n";
      out += "smime_milter_certificates_stored{trust=\"admin\"} " + std::to_string(admin) + "\n";
      out += "smime_milter_certificates_stored{trust=\"harvested\"} " + std::to_string(harvested) +
             "\n";
    }
    out +=
        "# HELP smime_milter_expiry_warnings Identities and trust anchors within "
        "identity_expiry_warning days of expiry (or expired).\n";
    out += "# TYPE smime_milter_expiry_warnings gauge\n";
    out += "smime_milter_expiry_warnings{kind=\"identity\"} " +
           std::to_string(
               rt->identities.ExpiryWarnings(now, rt->identity_expiry_warning_days).size()) +
           "\n";
    out += "smime_milter_expiry_warnings{kind=\"trust_anchor\"} " +
           std::to_string(rt->trust.ExpiryWarnings(now, rt->identity_expiry_warning_days).size()) +
           "\n";
    out +=
        "# HELP smime_milter_expiry_days_min Days until the first signing identity or trust "
        "anchor expires (negative: expired).\n";
    out += "# TYPE smime_milter_expiry_days_min gauge\n";
    for (const auto& [kind, t] : {std::make_pair("identity", rt->identities.EarliestNotAfter()),
                                  std::make_pair("trust_anchor", rt->trust.EarliestNotAfter())}) {
      if (t == 0) continue;
      const double days = static_cast<double>(t - now) / 86400.0;
      out += std::string("smime_milter_expiry_days_min{kind=\"") + kind + "\"} " +
             std::to_string(static_cast<long long>(std::floor(days))) + "\n";
    }
    out += "# HELP smime_milter_info The running version and configuration.\n";
    out += "# TYPE smime_milter_info gauge\n";
    out += "smime_milter_info{version=\"" + Label(PACKAGE_VERSION) + "\"} 1\n";
  }
  out += "# HELP smime_milter_metrics_written_seconds When this file was written (Unix time).\n";
  out += "# TYPE smime_milter_metrics_written_seconds gauge\n";
  out +=
      "smime_milter_metrics_written_seconds " + std::to_string(static_cast<long long>(now)) + "\n";
  return out;
}

}  // namespace smime
