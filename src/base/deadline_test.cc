// Unit tests for base/deadline on a ManualClock: no deadline never expires
// and caps nothing; a deadline caps waits to what is left, expires exactly
// when its time has passed, and copies share the same end.
#include "base/deadline.h"

#include "base/testing.h"

using namespace smime;

namespace {

void TestNoDeadline(void**) {
  const Deadline none;
  assert_true(none.unlimited());
  assert_false(none.expired());
  assert_int_equal(none.Cap(5000), 5000);
  assert_true(none.remaining() == std::chrono::milliseconds::max());
}

void TestCapsAndExpires(void**) {
  ManualClock clock(0);
  const Deadline d = Deadline::After(clock, 12000);
  const Deadline copy = d;
  assert_false(d.unlimited());
  assert_int_equal(d.Cap(5000), 5000);  // plenty left: the wait's own timeout
  clock.Advance(10000);
  assert_int_equal(d.remaining().count(), 2000);
  assert_int_equal(d.Cap(5000), 2000);  // what is left
  assert_false(d.expired());
  clock.Advance(1999);
  assert_int_equal(d.Cap(5000), 1);
  assert_false(copy.expired());
  clock.Advance(1);
  assert_true(d.expired());
  assert_true(copy.expired());
  assert_int_equal(d.Cap(5000), 0);
  clock.Advance(60000);
  assert_int_equal(d.remaining().count(), 0);  // never negative
  assert_true(Deadline::After(clock, 0).expired());
  assert_true(Deadline::After(clock, -5).expired());
}

// A pinned wall clock (FixedClock, `smimectl process --now`) still has real
// monotonic time: deadlines keep working.
void TestFixedClockIsMonotonicReal(void**) {
  FixedClock fixed(1000);
  const Deadline d = Deadline::After(fixed, 60000);
  assert_false(d.expired());
  assert_true(d.remaining().count() > 50000);
  assert_true(Deadline::After(fixed, 0).expired());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestNoDeadline),
      cmocka_unit_test(TestCapsAndExpires),
      cmocka_unit_test(TestFixedClockIsMonotonicReal),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
