// policy/direction: decide whether a message is inbound or outbound.
//
// Outbound when the MTA's {daemon_name} is one of originating_daemons, or the
// client authenticated (SASL), or its address is in internal_hosts (CIDR
// list, base/ip_network ParseNetworks, which fails with the offending item
// at start-up); otherwise inbound. Decide never fails. The reason is returned for
// the log.
#ifndef SMIME_POLICY_DIRECTION_H_
#define SMIME_POLICY_DIRECTION_H_

#include <string>
#include <vector>

#include "base/ip_network.h"
#include "base/status.h"
#include "engine/transaction.h"

namespace smime {

// ip as the MTA writes a client address ("192.0.2.1", "[IPv6:::1]") lies in
// one of nets. An IPv4-mapped address ("IPv6:::ffff:192.0.2.1") lies in the
// IPv4 networks that hold its IPv4 address, as well as in IPv6 networks.
bool CidrContains(const std::vector<IpNetwork>& nets, const std::string& ip);

// Decides the direction of tx (when tx.direction is kAuto) and says why:
// the rule that decided, one of forced, daemon_name, sasl_user,
// internal_hosts, default.
Direction DecideDirection(const Transaction& tx, const std::vector<IpNetwork>& internal_hosts,
                          const std::vector<std::string>& originating_daemons, std::string* why);

// Appends "why=RULE" and the evidence of the rule ("daemon_name=NAME" or
// "client=ADDR") to a log line's fields (docs/logging.md).
void AppendDirectionWhy(const Transaction& tx, const std::string& why, std::string* fields);

}  // namespace smime

#endif  // SMIME_POLICY_DIRECTION_H_
