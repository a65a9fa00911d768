// base/ip_network: see ip_network.h.
#include "base/ip_network.h"

#include <arpa/inet.h>

#include <cstring>

namespace smime {

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

Status ParseNetworks(const std::vector<std::string>& items, std::vector<IpNetwork>* out) {
  std::vector<IpNetwork> nets;
  for (const std::string& item : items) {
    IpNetwork n;
    const size_t slash = item.find('/');
    if (!ParseIp(item.substr(0, slash), &n.family, n.addr))
      return Status::Config("'" + item + "' is not an IP address or network");
    const int max = n.family == AF_INET ? 32 : 128;
    n.prefix = max;
    if (slash != std::string::npos) {
      const std::string p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(p) > max)
        return Status::Config("'" + item + "' has a bad prefix length");
      n.prefix = std::stoi(p);
    }
    nets.push_back(n);
  }
  *out = std::move(nets);
  return Status::Ok();
}

bool InNetwork(const IpNetwork& n, int family, const unsigned char* addr) {
  if (n.family != family) return false;
  int bits = n.prefix;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((addr[i] & mask) != (n.addr[i] & mask)) return false;
  }
  return true;
}

bool IsV4Mapped(const unsigned char* addr) {
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(addr, kMapped, sizeof kMapped) == 0;
}

}  // namespace smime
