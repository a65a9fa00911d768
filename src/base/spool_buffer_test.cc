// Unit tests for base/spool_buffer: memory up to the limit, then an
// unlinked file of mode 0600; read back in slices that join to exactly what
// was written; a file that ends early, a full disk and an unwritable
// folder are failures with their reason, and a failed buffer stays failed.
#include "base/spool_buffer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/testing.h"

using smime::SpoolBuffer;
using smime::Status;

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

std::string Pattern(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + "\r\n";
  s.resize(n);
  return s;
}

std::vector<std::string> Slices(const SpoolBuffer& b, size_t slice, Status* st) {
  std::vector<std::string> out;
  *st = b.ForEachSlice(slice, [&out](std::string_view s) {
    out.emplace_back(s);
    return true;
  });
  return out;
}

void TestMemoryBelowTheLimit(void**) {
  SpoolBuffer b("/nonexistent", 100);
  assert_true(b.Append("hello ").ok());
  assert_true(b.Append("world").ok());
  assert_false(b.on_disk());
  Status st;
  std::vector<std::string> s = Slices(b, 4, &st);
  assert_true(st.ok());
  assert_int_equal(s.size(), 3);  // "hell", "o wo", "rld"
  assert_string_equal((s[0] + s[1] + s[2]).c_str(), "hello world");
}

// Beyond the limit: a file, nameless at once (nothing for a crash to leave
// behind), 0600 whatever the umask; read back in 64 KB slices whose
// concatenation is exactly the content, also after a move.
void TestSpillsAndReadsBackInSlices(void**) {
  char dir[] = "/tmp/spool-buffer-test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  const mode_t old_umask = umask(0);
  const std::string content = Pattern(300000);
  {
    SpoolBuffer b(dir, 1000, "cipher");
    for (size_t at = 0; at < content.size(); at += 777)
      assert_true(b.Append(std::string_view(content).substr(at, 777)).ok());
    assert_true(b.on_disk());
    assert_int_equal(b.size(), content.size());
    assert_int_equal(FilesIn(dir), 0);
    bool private_file = false;
    DIR* d = opendir("/proc/self/fd");
    while (struct dirent* e = readdir(d)) {
      char target[4096];
      const std::string link = std::string("/proc/self/fd/") + e->d_name;
      const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      struct stat sb;
      if (std::string(target).rfind(std::string(dir) + "/", 0) == 0 && stat(link.c_str(), &sb) == 0)
        private_file = (sb.st_mode & 07777) == 0600;
    }
    closedir(d);
    assert_true(private_file);
    SpoolBuffer moved(std::move(b));
    Status st;
    std::vector<std::string> s = Slices(moved, 65536, &st);
    assert_true(st.ok());
    assert_int_equal(s.size(), 5);  // 4 x 64 KB and the rest
    std::string joined;
    for (const std::string& x : s) joined += x;
    assert_true(joined == content);
    std::string all;
    assert_true(moved.ReadAll(&all).ok());
    assert_true(all == content);
    // A consumer that stops is not a failure of the buffer.
    st = moved.ForEachSlice(65536, [](std::string_view) { return false; });
    assert_false(st.ok());
    assert_false(moved.failed());
  }
  umask(old_umask);
  assert_int_equal(FilesIn(dir), 0);
  rmdir(dir);
}

// The file ends before the size written (truncated behind our back): never
// a shorter content, a failure that stays.
void TestShortFileIsAFailure(void**) {
  char path[] = "/tmp/spool-buffer-short.XXXXXX";
  const int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  const int mine = dup(fd);
  SpoolBuffer b;
  b.UseFileForTest(fd);
  assert_true(b.Append(Pattern(200000)).ok());
  assert_int_equal(ftruncate(mine, 100000), 0);
  close(mine);
  size_t got = 0;
  Status st = b.ForEachSlice(65536, [&got](std::string_view s) {
    got += s.size();
    return true;
  });
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "spool read: Input/output error");
  assert_int_equal(got, 100000);  // what the file still holds, then the failure
  assert_true(b.failed());
  assert_string_equal(b.FailureReason(), "spool-failed");
  assert_false(b.Append("more").ok());
  std::string all;
  assert_false(b.ReadAll(&all).ok());
}

void TestFullDiskAndUnwritableFolder(void**) {
  SpoolBuffer full("/nonexistent", 4);
  const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  full.UseFileForTest(fd);
  Status st = full.Append("0123456789");
  assert_string_equal(st.message().c_str(), "spool write: No space left on device");
  assert_string_equal(full.FailureReason(), "spool-full");
  assert_string_equal(full.failure().message().c_str(), st.message().c_str());
  assert_false(full.Append("x").ok());  // no gap goes unnoticed

  SpoolBuffer gone("/nonexistent/dir", 4);
  assert_true(gone.Append("0123").ok());  // still in memory
  st = gone.Append("4");
  assert_string_equal(st.message().c_str(),
                      "cannot create spool file in /nonexistent/dir: No such file or directory");
  assert_string_equal(gone.FailureReason(), "spool-failed");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestMemoryBelowTheLimit),
      cmocka_unit_test(TestSpillsAndReadsBackInSlices),
      cmocka_unit_test(TestShortFileIsAFailure),
      cmocka_unit_test(TestFullDiskAndUnwritableFolder),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
