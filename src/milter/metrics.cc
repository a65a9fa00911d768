// milter/metrics: see metrics.h.
#include "milter/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "base/defaults.h"
#include "certdir/ldap_source.h"
#include "engine/cert_expiry.h"
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

// Length of the UTF-8 sequence at s[i] (1-4), or 0 when it is not one
// (overlong forms, surrogates and values above U+10FFFF included).
size_t Utf8Length(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80             ? 1
             : (c & 0xe0) == 0xc0 ? 2
             : (c & 0xf0) == 0xe0 ? 3
             : (c & 0xf8) == 0xf0 ? 4
                                  : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t cp = n == 1 ? c : c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

}  // namespace

// The Prometheus text format's label value: backslash, double quote and
// line feed escaped as \\, \" and \n; the value must be UTF-8, so a byte
// that is not part of a UTF-8 sequence, and every other control character,
// becomes U+FFFD. At most kMaxLabelBytes of input are used (values come
// from certificates and messages).
std::string PromLabelValue(const std::string& v) {
  std::string out;
  const size_t end = std::min(v.size(), Metrics::kMaxLabelBytes);
  for (size_t i = 0; i < end;) {
    const char c = v[i];
    const size_t n = Utf8Length(v, i);
    if (n == 0 || i + n > end) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (c == '\\' || c == '"')
      out += std::string("\\") + c;
    else if (c == '\n')
      out += "\\n";
    else if (n == 1 && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f))
      out += "\xEF\xBF\xBD";
    else
      out.append(v, i, n);
    i += n;
  }
  return out;
}

namespace {

std::string Label(const std::string& v) { return PromLabelValue(v); }

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

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void Head(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// Revocation fetches, AIA caIssuers fetches and the circuit breakers of
// the revocation responders, the AIA servers and the LDAP directory; LDAP
// searches and their latency histogram. A family's lines stay together (the
// text format requires it), one line per component present.
void RenderFetchers(const Runtime& rt, std::time_t now, std::string* out) {
  const bool rev = rt.revocation != nullptr;
  const RevocationStats r = rev ? rt.revocation->Stats(now) : RevocationStats();
  const bool aia = rt.aia != nullptr;
  const AiaStats a = aia ? rt.aia->Stats(now) : AiaStats();
  const bool ldap = rt.ldap != nullptr;
  const LdapStats l = ldap ? rt.ldap->Stats() : LdapStats();
  if (rev) {
    Head(out, "smime_milter_revocation_fetch_failures_total", "counter",
         "OCSP and CRL fetches that failed (network, HTTP, or an unusable answer).");
    *out += "smime_milter_revocation_fetch_failures_total{method=\"ocsp\"} " +
            std::to_string(r.ocsp_fetch_failures) + "\n";
    *out += "smime_milter_revocation_fetch_failures_total{method=\"crl\"} " +
            std::to_string(r.crl_fetch_failures) + "\n";
  }
  if (aia) {
    Head(out, "smime_milter_aia_fetches_total", "counter",
         "HTTP requests for missing issuers at AIA caIssuers URLs.");
    *out += "smime_milter_aia_fetches_total " + std::to_string(a.fetches) + "\n";
    Head(out, "smime_milter_aia_fetch_failures_total", "counter",
         "AIA requests that gave no issuer, by outcome (the aia= field of the verify line).");
    for (const auto& [outcome, n] :
         {std::make_pair("failed", a.failed), std::make_pair("refused", a.refused),
          std::make_pair("too-large", a.too_large), std::make_pair("deadline", a.deadline),
          std::make_pair("no-issuer", a.no_issuer)})
      *out += std::string("smime_milter_aia_fetch_failures_total{outcome=\"") + outcome + "\"} " +
              std::to_string(n) + "\n";
    Head(out, "smime_milter_aia_cache_hits_total", "counter",
         "Missing issuers found in the AIA cache (no request).");
    *out += "smime_milter_aia_cache_hits_total " + std::to_string(a.cache_hits) + "\n";
  }
  if (!rev && !aia && !ldap) return;
  Head(out, "smime_milter_breaker_refusals_total", "counter",
       "Fetches not tried because the server's circuit breaker was open.");
  if (rev)
    *out += "smime_milter_breaker_refusals_total{component=\"revocation\"} " +
            std::to_string(r.breaker_refusals) + "\n";
  if (aia)
    *out += "smime_milter_breaker_refusals_total{component=\"aia\"} " +
            std::to_string(a.breaker_refusals) + "\n";
  if (ldap)
    *out += "smime_milter_breaker_refusals_total{component=\"ldap\"} " +
            std::to_string(l.breaker_refusals) + "\n";
  if (rev || aia) {
    Head(out, "smime_milter_breaker_opens_total", "counter",
         "Times a revocation or AIA server's circuit breaker opened.");
    if (rev)
      *out += "smime_milter_breaker_opens_total{component=\"revocation\"} " +
              std::to_string(r.breaker_opens) + "\n";
    if (aia)
      *out += "smime_milter_breaker_opens_total{component=\"aia\"} " +
              std::to_string(a.breaker_opens) + "\n";
  }
  Head(out, "smime_milter_breakers", "gauge",
       "Circuit breakers by state now: open (refusing) or half_open (the next request probes).");
  if (rev) {
    *out += "smime_milter_breakers{component=\"revocation\",state=\"open\"} " +
            std::to_string(r.breakers_open) + "\n";
    *out += "smime_milter_breakers{component=\"revocation\",state=\"half_open\"} " +
            std::to_string(r.breakers_half_open) + "\n";
  }
  if (aia) {
    *out += "smime_milter_breakers{component=\"aia\",state=\"open\"} " +
            std::to_string(a.breakers_open) + "\n";
    *out += "smime_milter_breakers{component=\"aia\",state=\"half_open\"} " +
            std::to_string(a.breakers_half_open) + "\n";
  }
  if (ldap)
    *out += "smime_milter_breakers{component=\"ldap\",state=\"open\"} " +
            std::to_string(l.breakers_open) + "\n";
  if (!ldap) return;
  Head(out, "smime_milter_ldap_lookups_total", "counter",
       "LDAP recipient lookups by result: search (asked the directory), cache_hit, "
       "negative_hit (cached nothing-found), failed.");
  *out += "smime_milter_ldap_lookups_total{result=\"search\"} " + std::to_string(l.searches) + "\n";
  *out += "smime_milter_ldap_lookups_total{result=\"cache_hit\"} " + std::to_string(l.cache_hits) +
          "\n";
  *out += "smime_milter_ldap_lookups_total{result=\"negative_hit\"} " +
          std::to_string(l.negative_hits) + "\n";
  *out += "smime_milter_ldap_lookups_total{result=\"failed\"} " + std::to_string(l.failures) + "\n";
  Head(out, "smime_milter_ldap_search_duration_seconds", "histogram",
       "Wall time of LDAP directory searches (failed ones too; not cache answers).");
  for (size_t i = 0; i < kLdapLatencyBucketCount; ++i)
    *out += "smime_milter_ldap_search_duration_seconds_bucket{le=\"" + Num(kLdapLatencyBuckets[i]) +
            "\"} " + std::to_string(l.latency_le[i]) + "\n";
  *out += "smime_milter_ldap_search_duration_seconds_bucket{le=\"+Inf\"} " +
          std::to_string(l.latency_count) + "\n";
  *out += "smime_milter_ldap_search_duration_seconds_sum " + Num(l.latency_sum_seconds) + "\n";
  *out +=
      "smime_milter_ldap_search_duration_seconds_count " + std::to_string(l.latency_count) + "\n";
}

// Days to expiry per certificate (recipient certificates: the soonest
// kRecipientExpirySeries only) and counts by kind under each threshold.
void RenderCertExpiry(const std::vector<CertExpiry>& certs, bool with_recipients, std::time_t now,
                      std::string* out) {
  Head(out, "smime_milter_certificate_expiry_days", "gauge",
       "Days until a certificate expires (negative: expired), by kind, name (address or "
       "subject) and fingerprint (first 16 hex digits of its SHA-256); recipient certificates "
       "added with cert add: only the soonest-expiring ones.");
  size_t recipients = 0;
  for (const CertExpiry& c : certs) {  // soonest first
    if (c.kind == std::string(kExpiryRecipient) && ++recipients > Metrics::kRecipientExpirySeries)
      continue;
    *out += std::string("smime_milter_certificate_expiry_days{kind=\"") + c.kind + "\",name=\"" +
            Label(c.name) + "\",fingerprint=\"" + c.fingerprint.substr(0, 16) + "\"} " +
            std::to_string(DaysLeft(c.not_after, now)) + "\n";
  }
  Head(out, "smime_milter_certificates_expiring", "gauge",
       "Certificates of a kind that expire within within_days days or have expired (0: "
       "expired), all of them (recipient certificates: those added with cert add).");
  std::vector<const char*> kinds = {kExpiryIdentity, kExpiryIdentityEncryption, kExpiryAnchor};
  if (with_recipients) kinds.push_back(kExpiryRecipient);
  for (const char* kind : kinds)
    for (int days : Metrics::kExpiringWithinDays) {
      size_t n = 0;
      for (const CertExpiry& c : certs)
        if (c.kind == std::string(kind) &&
            c.not_after - now <= static_cast<std::time_t>(days) * 86400)
          ++n;
      *out += std::string("smime_milter_certificates_expiring{kind=\"") + kind +
              "\",within_days=\"" + std::to_string(days) + "\"} " + std::to_string(n) + "\n";
    }
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
    std::vector<CertStoreRow> rows;
    const bool listed = rt->cert_store && rt->cert_store->List(&rows).ok();
    if (listed) {
      for (const CertStoreRow& r : rows) ++(r.trust == CertTrust::kAdmin ? admin : harvested);
      out += "# HELP smime_milter_certificates_stored Recipient certificates in the store.\n";
      out += "# TYPE smime_milter_certificates_stored gauge\n";
      out += "smime_milter_certificates_stored{trust=\"admin\"} " + std::to_string(admin) + "\n";
      out += "smime_milter_certificates_stored{trust=\"harvested\"} " + std::to_string(harvested) +
             "\n";
    }
    const int warn_days = rt->identity_expiry_warning_days;
    out +=
        "# HELP smime_milter_expiry_warnings Identities, trust anchors and recipient certificates "
        "added with cert add within identity_expiry_warning days of expiry (or expired).\n";
    out += "# TYPE smime_milter_expiry_warnings gauge\n";
    out += "smime_milter_expiry_warnings{kind=\"identity\"} " +
           std::to_string(rt->identities.ExpiryWarnings(now, warn_days).size()) + "\n";
    out += "smime_milter_expiry_warnings{kind=\"trust_anchor\"} " +
           std::to_string(rt->trust.ExpiryWarnings(now, warn_days).size()) + "\n";
    if (listed)
      out += "smime_milter_expiry_warnings{kind=\"recipient_certificate\"} " +
             std::to_string(AdminCertExpiryWarnings(rows, now, warn_days).size()) + "\n";
    out +=
        "# HELP smime_milter_expiry_days_min Days until the first signing identity, trust "
        "anchor or recipient certificate added with cert add expires (negative: expired).\n";
    out += "# TYPE smime_milter_expiry_days_min gauge\n";
    for (const auto& [kind, t] :
         {std::make_pair("identity", rt->identities.EarliestNotAfter()),
          std::make_pair("trust_anchor", rt->trust.EarliestNotAfter()),
          std::make_pair("recipient_certificate",
                         listed ? AdminCertEarliestNotAfter(rows) : std::time_t{0})}) {
      if (t == 0) continue;
      const double days = static_cast<double>(t - now) / 86400.0;
      out += std::string("smime_milter_expiry_days_min{kind=\"") + kind + "\"} " +
             std::to_string(static_cast<long long>(std::floor(days))) + "\n";
    }
    RenderCertExpiry(CertExpiries(*rt, listed ? &rows : nullptr), listed, now, &out);
    RenderFetchers(*rt, now, &out);
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
