// Unit tests for milter/body_spool: memory, spill to an unlinked file, limit.
#include "milter/body_spool.h"

#include <dirent.h>
#include <unistd.h>

#include <string>

#include "base/testing.h"

using smime::BodySpool;

namespace {

int FilesIn(const char* dir) {
  int n = 0;
  DIR* d = opendir(dir);
  if (!d) return -1;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

void TestStaysInMemory(void**) {
  BodySpool spool("/nonexistent", 100, 1000);
  assert_true(spool.Append("hello ", 6).ok());
  assert_true(spool.Append("world", 5).ok());
  std::string body;
  assert_true(spool.Take(&body).ok());
  assert_string_equal(body.c_str(), "hello world");
  assert_false(spool.on_disk());
  assert_false(spool.truncated());
}

void TestSpillsToUnlinkedFile(void**) {
  char dir[] = "/tmp/spool-test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  std::string expect;
  {
    BodySpool spool(dir, 16, 1 << 20);
    for (int i = 0; i < 100; ++i) {
      std::string chunk = "line " + std::to_string(i) + "\r\n";
      expect += chunk;
      assert_true(spool.Append(chunk.data(), chunk.size()).ok());
    }
    assert_true(spool.on_disk());
    assert_int_equal(FilesIn(dir), 0);  // unlinked at once: a crash leaves nothing
    std::string body;
    assert_true(spool.Take(&body).ok());
    assert_true(body == expect);
  }
  rmdir(dir);
}

void TestLimitKeepsCountingButNotBytes(void**) {
  BodySpool spool("/nonexistent", 1000, 10);
  assert_true(spool.Append("0123456789abcdef", 16).ok());
  assert_true(spool.truncated());
  assert_int_equal(spool.size(), 16);
  std::string body;
  assert_true(spool.Take(&body).ok());
  assert_int_equal(body.size(), 10);
}

void TestUnwritableDirIsAStatus(void**) {
  BodySpool spool("/nonexistent/dir", 4, 1000);
  smime::Status st = spool.Append("0123456789", 10);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "cannot create spool file in /nonexistent/dir"));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestStaysInMemory),
      cmocka_unit_test(TestSpillsToUnlinkedFile),
      cmocka_unit_test(TestLimitKeepsCountingButNotBytes),
      cmocka_unit_test(TestUnwritableDirIsAStatus),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
