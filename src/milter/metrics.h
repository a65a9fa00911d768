// milter/metrics: counters of the running daemon in the Prometheus text
// format, for node_exporter's textfile collector and `smimectl status`.
//
// The callbacks count every message outcome (direction, verdict,
// disposition), every RCPT verdict and every panic; the reload thread
// counts reloads. Render() writes the counters and a few gauges of the
// runtime in use (anchors, identities, days to the earliest expiry, days
// to expiry per certificate, AIA, revocation and LDAP fetches); the
// daemon's background thread writes that atomically to metrics_file every
// metrics_interval seconds. Thread-safe; counting never fails.
#ifndef SMIME_MILTER_METRICS_H_
#define SMIME_MILTER_METRICS_H_

#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>

#include "engine/outcome.h"

namespace smime {

struct Runtime;

class Metrics {
 public:
  // Per-certificate expiry gauges: every identity and trust anchor, but
  // only the kRecipientExpirySeries soonest-expiring recipient
  // certificates (the store may hold thousands); the rest are counted in
  // smime_milter_certificates_expiring by kExpiringWithinDays.
  static constexpr size_t kRecipientExpirySeries = 20;
  static constexpr int kExpiringWithinDays[] = {0, 7, 30, 90};
  // Bytes of a label value taken from a certificate or message.
  static constexpr size_t kMaxLabelBytes = 256;

  void CountMessage(const Outcome& o);
  void CountRcpt(Disposition d);
  void CountReload(bool ok);

  // The whole textfile: counters, then gauges of rt (may be null), then
  // smime_milter_metrics_written_seconds = now.
  std::string Render(const Runtime* rt, std::time_t now) const;

 private:
  mutable std::mutex mu_;
  // "name{labels}" -> value, rendered in this order (std::map: stable).
  std::map<std::string, uint64_t> counters_;
};

// A label value in the Prometheus text format (escaped, valid UTF-8,
// at most Metrics::kMaxLabelBytes of v).
std::string PromLabelValue(const std::string& v);

}  // namespace smime

#endif  // SMIME_MILTER_METRICS_H_
