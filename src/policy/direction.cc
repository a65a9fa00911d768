// policy/direction: see direction.h.
#include "policy/direction.h"

#include <arpa/inet.h>

#include <cstring>

#include "base/log.h"

namespace smime {

namespace {

bool ParseIp(const std::string& text, int* family, unsigned char* addr) {
  if (inet_pton(AF_INET, text.c_str(), addr) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

Status ParseCidrList(const std::vector<std::string>& items, std::vector<Cidr>* out) {
  std::vector<Cidr> nets;
  for (const std::string& item : items) {
    Cidr c;
    size_t slash = item.find('/');
    std::string ip = item.substr(0, slash);
    if (!ParseIp(ip, &c.family, c.addr))
      return Status::Config("'" + item + "' is not an IP address or CIDR network");
    int max = c.family == AF_INET ? 32 : 128;
    c.prefix = max;
    if (slash != std::string::npos) {
      std::string p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(p) > max)
        return Status::Config("'" + item + "' has a bad prefix length");
      c.prefix = std::stoi(p);
    }
    nets.push_back(c);
  }
  *out = std::move(nets);
  return Status::Ok();
}

bool CidrContains(const std::vector<Cidr>& nets, const std::string& text) {
  int family;
  unsigned char addr[16];
  std::string ip = text;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.rfind("IPv6:", 0) == 0) ip = ip.substr(5);
  if (!ParseIp(ip, &family, addr)) return false;
  for (const Cidr& c : nets) {
    if (c.family != family) continue;
    int full = c.prefix / 8, rest = c.prefix % 8;
    if (std::memcmp(c.addr, addr, static_cast<size_t>(full)) != 0) continue;
    if (rest) {
      unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
      if ((c.addr[full] & mask) != (addr[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

Direction DecideDirection(const Transaction& tx, const std::vector<Cidr>& internal_hosts,
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
