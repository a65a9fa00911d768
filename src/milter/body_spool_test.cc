// Unit tests for milter/body_spool: memory, spill to an unlinked file of
// mode 0600 (under umask 022), limit.
#include "milter/body_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
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

// The mode of this process's open spool file in dir (found through
// /proc/self/fd: it is unlinked), or -1.
int SpoolFileMode(const std::string& dir) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int mode = -1;
  while (struct dirent* e = readdir(d)) {
    char target[4096];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    struct stat st;
    if (std::string(target).rfind(dir + "/", 0) == 0 && stat(link.c_str(), &st) == 0)
      mode = static_cast<int>(st.st_mode & 07777);
  }
  closedir(d);
  return mode;
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
  const mode_t old_umask = umask(022);
  {
    BodySpool spool(dir, 16, 1 << 20);
    for (int i = 0; i < 100; ++i) {
      std::string chunk = "line " + std::to_string(i) + "\r\n";
      expect += chunk;
      assert_true(spool.Append(chunk.data(), chunk.size()).ok());
    }
    assert_true(spool.on_disk());
    assert_int_equal(FilesIn(dir), 0);  // unlinked at once: a crash leaves nothing
    // Private while it had a name, whatever the umask (docs/SECURITY.md).
    assert_int_equal(SpoolFileMode(dir), 0600);
    std::string body;
    assert_true(spool.Take(&body).ok());
    assert_true(body == expect);
  }
  umask(old_umask);
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
  assert_string_equal(spool.FailureReason(), "spool-failed");
}

// A full file system: the kernel's own ENOSPC (/dev/full) on the spool
// write is "spool-full", whatever was kept in memory before.
void TestFullDiskIsSpoolFull(void**) {
  BodySpool spool("/nonexistent/dir", 4, 1000);
  const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  spool.UseFileForTest(fd);  // closed by the spool
  smime::Status st = spool.Append("0123456789", 10);
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "spool write: No space left on device");
  assert_string_equal(spool.FailureReason(), "spool-full");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestStaysInMemory),
      cmocka_unit_test(TestSpillsToUnlinkedFile),
      cmocka_unit_test(TestLimitKeepsCountingButNotBytes),
      cmocka_unit_test(TestUnwritableDirIsAStatus),
      cmocka_unit_test(TestFullDiskIsSpoolFull),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
