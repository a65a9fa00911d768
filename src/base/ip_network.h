// base/ip_network: lists of IP networks from the configuration
// (internal_hosts, signing_relays, aia_allow_networks) and the membership
// test.
//
// Entry points: ParseNetworks (start-up; fails naming the first bad item),
// ParseIp and InNetwork (per connection or request; never fail). An item is
// an IPv4 or IPv6 address with an optional /prefix; a bare address is a /32
// or /128. Families never match each other: IsV4Mapped finds the IPv4
// address inside an IPv6 one, and what that means is the caller's business.
#ifndef SMIME_BASE_IP_NETWORK_H_
#define SMIME_BASE_IP_NETWORK_H_

#include <string>
#include <vector>

#include "base/status.h"

namespace smime {

struct IpNetwork {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char addr[16] = {};
  int prefix = 0;
};

// "127.0.0.0/8", "::1", "fd00::/8".
Status ParseNetworks(const std::vector<std::string>& items, std::vector<IpNetwork>* out);

// A literal address (no brackets, no prefix) into family and addr (16 bytes).
bool ParseIp(const std::string& text, int* family, unsigned char* addr);

// addr (of family) lies in n.
bool InNetwork(const IpNetwork& n, int family, const unsigned char* addr);

// addr (16 bytes of AF_INET6) is IPv4-mapped, ::ffff:a.b.c.d (RFC 4291
// 2.5.5.2): a.b.c.d is addr + 12.
bool IsV4Mapped(const unsigned char* addr);

}  // namespace smime

#endif  // SMIME_BASE_IP_NETWORK_H_
