// milter/metrics: counters of the running daemon in the Prometheus text
// format, for node_exporter's textfile collector and `smimectl status`.
//
// The callbacks count every message outcome (direction, verdict,
// disposition), every RCPT verdict and every panic; the reload thread
// counts reloads. Render() writes the counters and a few gauges of the
// runtime in use (anchors, identities, days to the earliest expiry); the
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

}  // namespace smime

#endif  // SMIME_MILTER_METRICS_H_
