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
