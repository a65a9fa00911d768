// policy/direction: see direction.h.
#include "policy/direction.h"

#include <sys/socket.h>

#include "base/log.h"

namespace smime {

bool CidrContains(const std::vector<IpNetwork>& nets, const std::string& text) {
  int family;
  unsigned char addr[16];
  std::string ip = text;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.rfind("IPv6:", 0) == 0) ip = ip.substr(5);
  if (!ParseIp(ip, &family, addr)) return false;
  // A dual-stack listener (Sendmail's Family=inet6) shows an IPv4 client as
  // ::ffff:a.b.c.d: the same host, so an IPv4 network holds it too.
  const bool mapped = family == AF_INET6 && IsV4Mapped(addr);
  for (const IpNetwork& n : nets) {
    if (InNetwork(n, family, addr)) return true;
    if (mapped && InNetwork(n, AF_INET, addr + 12)) return true;
  }
  return false;
}

Direction DecideDirection(const Transaction& tx, const std::vector<IpNetwork>& internal_hosts,
                          const std::vector<std::string>& originating_daemons, std::string* why) {
  if (tx.direction != Direction::kAuto) {
    *why = "forced";
    return tx.direction;
  }
  for (const std::string& d : originating_daemons) {
    if (!tx.daemon_name.empty() && tx.daemon_name == d) {
      *why = "daemon_name";
      return Direction::kOutbound;
    }
  }
  if (!tx.sasl_user.empty()) {
    *why = "sasl_user";
    return Direction::kOutbound;
  }
  if (!tx.client_addr.empty() && CidrContains(internal_hosts, tx.client_addr)) {
    *why = "internal_hosts";
    return Direction::kOutbound;
  }
  *why = "default";
  return Direction::kInbound;
}

void AppendDirectionWhy(const Transaction& tx, const std::string& why, std::string* fields) {
  AppendField(fields, "why", why);
  // The evidence, each in its own field; a SASL login is the login= field
  // the outbound line always carries.
  if (why == "daemon_name") AppendField(fields, "daemon_name", tx.daemon_name);
  if (why == "internal_hosts") AppendField(fields, "client", tx.client_addr);
}

}  // namespace smime
