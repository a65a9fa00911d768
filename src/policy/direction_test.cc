// Unit tests for policy/direction: CIDR parsing and the direction rule.
#include "policy/direction.h"

#include <string>
#include <vector>

#include "base/testing.h"

using namespace smime;

namespace {

void TestCidr(void**) {
  std::vector<IpNetwork> nets;
  assert_true(ParseNetworks({"127.0.0.0/8", "10.1.0.0/16", "::1/128", "192.0.2.7"}, &nets).ok());
  assert_true(CidrContains(nets, "127.0.0.1"));
  assert_true(CidrContains(nets, "10.1.255.3"));
  assert_false(CidrContains(nets, "10.2.0.1"));
  assert_true(CidrContains(nets, "::1"));
  assert_true(CidrContains(nets, "[IPv6:::1]"));
  assert_true(CidrContains(nets, "192.0.2.7"));
  assert_false(CidrContains(nets, "192.0.2.8"));
  assert_false(CidrContains(nets, "not-an-ip"));
  // IPv4-mapped (a dual-stack listener): judged by the IPv4 address too.
  assert_true(CidrContains(nets, "::ffff:10.1.2.3"));
  assert_true(CidrContains(nets, "[IPv6:::ffff:127.0.0.1]"));
  assert_true(CidrContains(nets, "IPv6:::FFFF:C000:0207"));  // 192.0.2.7
  assert_false(CidrContains(nets, "::ffff:10.2.0.1"));
  assert_false(CidrContains(nets, "::ffff:192.0.2.8"));
  // Not mapped: IPv4-compatible (::a.b.c.d, deprecated) and NAT64 stay IPv6.
  assert_false(CidrContains(nets, "::10.1.2.3"));
  assert_false(CidrContains(nets, "64:ff9b::10.1.2.3"));
  std::vector<IpNetwork> v6;
  assert_true(ParseNetworks({"::ffff:0:0/96"}, &v6).ok());
  assert_true(CidrContains(v6, "::ffff:203.0.113.9"));  // IPv6 networks still apply
  assert_false(CidrContains(v6, "203.0.113.9"));        // but not the other way round
  assert_false(ParseNetworks({"10.0.0.0/33"}, &nets).ok());
  assert_false(ParseNetworks({"example.com"}, &nets).ok());
}

void TestDirection(void**) {
  std::vector<IpNetwork> nets;
  assert_true(ParseNetworks({"127.0.0.0/8"}, &nets).ok());
  std::string why;
  Transaction tx;
  tx.client_addr = "192.0.2.1";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kInbound);
  tx.sasl_user = "alice";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kOutbound);
  assert_string_equal(why.c_str(), "sasl_user");
  tx.sasl_user.clear();
  tx.client_addr = "127.0.0.1";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kOutbound);
  assert_string_equal(why.c_str(), "internal_hosts");
  std::string fields;
  AppendDirectionWhy(tx, why, &fields);
  assert_string_equal(fields.c_str(), "why=internal_hosts, client=127.0.0.1");
  // Sendmail on a dual-stack socket: the same loopback client.
  tx.client_addr = "IPv6:::ffff:127.0.0.1";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kOutbound);
  assert_string_equal(why.c_str(), "internal_hosts");
  tx.client_addr = "IPv6:::ffff:192.0.2.1";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kInbound);
  tx.client_addr = "192.0.2.1";
  tx.daemon_name = "ORIGINATING";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kOutbound);
  assert_string_equal(why.c_str(), "daemon_name");
  fields.clear();
  AppendDirectionWhy(tx, why, &fields);
  assert_string_equal(fields.c_str(), "why=daemon_name, daemon_name=ORIGINATING");
  tx.daemon_name = "smtpd";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kInbound);
  tx.direction = Direction::kInbound;
  tx.client_addr = "127.0.0.1";
  assert_true(DecideDirection(tx, nets, {"ORIGINATING"}, &why) == Direction::kInbound);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCidr),
      cmocka_unit_test(TestDirection),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
