// Unit tests for base/safe_file: symbolic links, hard links, FIFOs and
// unsafe modes are refused (owner and mode named), untrusted owners are
// refused unless they are the service account, created files have exactly
// their mode under umask 022, and replacing a file goes through a temporary
// in the same folder that never stays behind.
#include "base/safe_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/testing.h"

using namespace smime;

namespace {

std::string* g_dir = nullptr;

std::string P(const char* name) { return *g_dir + "/" + name; }

void Put(const char* name, const char* text, mode_t mode) {
  FILE* f = fopen(P(name).c_str(), "wb");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  chmod(P(name).c_str(), mode);
}

unsigned ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 077777;
}

// Plain values of a result (cmocka's asserts skip destructors).
struct Res {
  int code = -1;
  char msg[512] = "";
  char data[128] = "";
};

constexpr int kOk = static_cast<int>(Status::Code::kOk);
constexpr int kConfig = static_cast<int>(Status::Code::kConfig);
constexpr int kNotFound = static_cast<int>(Status::Code::kNotFound);

Res R(const Status& st, const std::string& data = "") {
  Res r;
  r.code = static_cast<int>(st.code());
  snprintf(r.msg, sizeof r.msg, "%s", st.message().c_str());
  snprintf(r.data, sizeof r.data, "%s", data.c_str());
  return r;
}

Res Secret(const char* name) {
  std::string out;
  Status st = ReadSecretFile(P(name), &out);
  return R(st, out);
}

Res SecretLine(const char* name) {
  std::string out;
  Status st = ReadSecretLine(P(name), &out);
  return R(st, out);
}

Res State(const char* name) {
  std::string out;
  Status st = ReadCheckedFile(P(name), FileUse::kState, &out);
  return R(st, out);
}

int SetUp(void**) {
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/safe_file_test.XXXXXX";
  if (!mkdtemp(&templ[0])) return -1;
  g_dir = new std::string(templ);
  return 0;
}

int TearDown(void**) {
  std::string cmd = "rm -rf '" + *g_dir + "'";
  if (system(cmd.c_str()) != 0) return -1;
  delete g_dir;
  g_dir = nullptr;
  ClearServiceAccount();
  return 0;
}

void TestSecretRead(void**) {
  Put("key", "line one\r\nline two\n", 0600);
  Res r = Secret("key");
  assert_int_equal(r.code, kOk);
  assert_string_equal(r.data, "line one\r\nline two\n");
  r = SecretLine("key");
  assert_int_equal(r.code, kOk);
  assert_string_equal(r.data, "line one");
  Put("ro-key", "pin\n", 0400);
  r = SecretLine("ro-key");
  assert_int_equal(r.code, kOk);
  assert_string_equal(r.data, "pin");
  r = Secret("missing");
  assert_int_equal(r.code, kNotFound);
  assert_non_null(strstr(r.msg, "missing"));
}

void TestSecretModesRefused(void**) {
  const std::string me = OwnerName(geteuid());
  for (mode_t mode : {0640, 0604, 0610, 0601, 0660, 0644}) {
    Put("open-key", "secret\n", mode);
    Res r = Secret("open-key");
    assert_int_equal(r.code, kConfig);
    char want[256];
    snprintf(want, sizeof want, "refusing %s (owner %s, mode %04o): a private key or passphrase",
             P("open-key").c_str(), me.c_str(), static_cast<unsigned>(mode));
    assert_non_null(strstr(r.msg, want));
    assert_non_null(strstr(r.msg, "group- or world-accessible"));
    assert_string_equal(r.data, "");
  }
  // The same mode is fine for a state file as long as it is not writable.
  Put("state", "data", 0644);
  Res r = State("state");
  assert_int_equal(r.code, kOk);
  assert_string_equal(r.data, "data");
  chmod(P("state").c_str(), 0664);
  r = State("state");
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, "mode 0664"));
  assert_non_null(strstr(r.msg, "writable"));
}

void TestSymlinkRefused(void**) {
  Put("real-key", "secret\n", 0600);
  assert_int_equal(symlink(P("real-key").c_str(), P("link-key").c_str()), 0);
  Res r = Secret("link-key");
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, P("link-key").c_str()));
  assert_non_null(strstr(r.msg, "symbolic link"));
  assert_string_equal(r.data, "");
  r = State("link-key");
  assert_int_equal(r.code, kConfig);
  bool exists = true;
  Status st = CheckStateFile(P("link-key"), &exists);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
  assert_non_null(strstr(st.message().c_str(), "symbolic link"));
  // A dangling link too (creating through it would make its target).
  assert_int_equal(symlink(P("nowhere").c_str(), P("dangling").c_str()), 0);
  st = CheckStateFile(P("dangling"), &exists);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
  UniqueFd fd;
  st = CreateNewFile(P("dangling"), 0600, &fd);
  assert_int_not_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(access(P("nowhere").c_str(), F_OK), -1);
}

void TestHardLinkRefused(void**) {
  Put("one", "secret\n", 0600);
  assert_int_equal(Secret("one").code, kOk);
  assert_int_equal(link(P("one").c_str(), P("two").c_str()), 0);
  Res r = Secret("two");
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, "2 hard links"));
  r = Secret("one");
  assert_int_equal(r.code, kConfig);
  bool exists = false;
  Status st = CheckStateFile(P("two"), &exists);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
}

void TestNotRegularRefused(void**) {
  assert_int_equal(mkfifo(P("fifo").c_str(), 0600), 0);
  Res r = Secret("fifo");  // must not block on the FIFO
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, "not a regular file"));
  assert_int_equal(mkdir(P("dir").c_str(), 0700), 0);
  r = State("dir");
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, "not a regular file"));
}

void TestOwner(void**) {
  if (geteuid() != 0) skip();  // only root can give a file away
  const uid_t other = 12345;
  Put("foreign", "secret\n", 0600);
  assert_int_equal(chown(P("foreign").c_str(), other, other), 0);
  Res r = Secret("foreign");
  assert_int_equal(r.code, kConfig);
  assert_non_null(strstr(r.msg, "(owner 12345, mode 0600)"));
  assert_non_null(strstr(r.msg, "root or the service user"));
  bool exists = false;
  Status st = CheckStateFile(P("foreign"), &exists);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
  // The service account's files are trusted like root's.
  SetServiceAccount(other);
  r = Secret("foreign");
  assert_int_equal(r.code, kOk);
  assert_string_equal(r.data, "secret\n");
  ClearServiceAccount();
  assert_int_equal(Secret("foreign").code, kConfig);
  assert_true(TrustedOwner(0));
  assert_true(TrustedOwner(geteuid()));
  assert_false(TrustedOwner(other));
}

// Root (smimectl) writing caches into the service user's folder leaves
// files and folders the service user can go on using; elsewhere root keeps
// them.
void TestRootGivesToService(void**) {
  if (geteuid() != 0) skip();
  const uid_t service = 12345;
  SetServiceAccount(service);
  assert_int_equal(chown(g_dir->c_str(), service, service), 0);
  UniqueFd dir;
  Status st = OpenStateDir(P("crl"), false, true, &dir);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  struct stat s;
  assert_int_equal(lstat(P("crl").c_str(), &s), 0);
  assert_int_equal(s.st_uid, service);
  st = ReplaceFileAt(dir.get(), P("crl"), "x.crl", "data");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(lstat(P("crl/x.crl").c_str(), &s), 0);
  assert_int_equal(s.st_uid, service);
  assert_int_equal(s.st_mode & 07777, 0600);
  // A root-owned folder: root keeps what it writes.
  assert_int_equal(mkdir(P("rootdir").c_str(), 0700), 0);
  st = ReplaceFile(P("rootdir/y"), "data");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(lstat(P("rootdir/y").c_str(), &s), 0);
  assert_int_equal(s.st_uid, 0);
  ClearServiceAccount();
}

void TestCreatedModes(void**) {
  const mode_t old = umask(022);
  UniqueFd fd;
  Status st = CreateNewFile(P("new-key"), 0600, &fd);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_true(fd.Close());
  assert_int_equal(ModeOf(P("new-key")), 0600);
  // Exactly the mode asked for, also a wider one the umask would cut.
  st = CreateNewFile(P("new-crt"), 0664, &fd);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(ModeOf(P("new-crt")), 0664);
  fd = UniqueFd();
  // O_EXCL: an existing file is not reused.
  st = CreateNewFile(P("new-key"), 0600, &fd);
  assert_int_not_equal(static_cast<int>(st.code()), kOk);
  assert_non_null(strstr(st.message().c_str(), "new-key"));
  // Replaced files: 0600 under umask 022 (and 000).
  st = ReplaceFile(P("cache"), "first");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(ModeOf(P("cache")), 0600);
  umask(0);
  st = ReplaceFile(P("cache0"), "x");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(ModeOf(P("cache0")), 0600);
  umask(old);
}

int CountTemporaries() {
  int n = 0;
  DIR* d = opendir(g_dir->c_str());
  if (!d) return -1;
  while (struct dirent* e = readdir(d))
    if (strstr(e->d_name, ".tmp.")) ++n;
  closedir(d);
  return n;
}

void TestReplace(void**) {
  Status st = ReplaceFile(P("crl"), "old");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  st = ReplaceFile(P("crl"), "new contents");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  Res r = State("crl");
  assert_string_equal(r.data, "new contents");
  assert_int_equal(CountTemporaries(), 0);
  // A link planted under the name is replaced, its target untouched.
  Put("target", "precious", 0600);
  assert_int_equal(symlink(P("target").c_str(), P("planted").c_str()), 0);
  st = ReplaceFile(P("planted"), "cache data");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  struct stat s;
  assert_int_equal(lstat(P("planted").c_str(), &s), 0);
  assert_true(S_ISREG(s.st_mode));
  assert_string_equal(State("target").data, "precious");
  assert_string_equal(State("planted").data, "cache data");
  // Through an open folder; a failed rename (a folder in the way) leaves
  // no temporary behind.
  UniqueFd dir;
  st = OpenStateDir(*g_dir, true, false, &dir);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  st = ReplaceFileAt(dir.get(), *g_dir, "at", "via dirfd");
  assert_int_equal(static_cast<int>(st.code()), kOk);
  std::string data;
  st = ReadStateFileAt(dir.get(), *g_dir, "at", &data);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_true(data == "via dirfd");
  assert_int_equal(mkdir(P("busy").c_str(), 0700), 0);
  assert_int_equal(mkdir(P("busy/x").c_str(), 0700), 0);
  st = ReplaceFileAt(dir.get(), *g_dir, "busy", "y");
  assert_int_not_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(CountTemporaries(), 0);
}

void TestStateDir(void**) {
  UniqueFd fd;
  // Created 0700 when asked, whatever the umask.
  const mode_t old = umask(0);
  Status st = OpenStateDir(P("crl"), false, true, &fd);
  umask(old);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  assert_int_equal(ModeOf(P("crl")), 0700);
  // A link is not followed when told so.
  assert_int_equal(symlink(P("crl").c_str(), P("crl-link").c_str()), 0);
  st = OpenStateDir(P("crl-link"), false, true, &fd);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
  st = OpenStateDir(P("crl-link"), true, false, &fd);
  assert_int_equal(static_cast<int>(st.code()), kOk);
  // World-writable without the sticky bit: refused; with it: fine.
  assert_int_equal(chmod(P("crl").c_str(), 0777), 0);
  st = OpenStateDir(P("crl"), false, false, &fd);
  assert_int_equal(static_cast<int>(st.code()), kConfig);
  assert_non_null(strstr(st.message().c_str(), "world-writable"));
  assert_non_null(strstr(st.message().c_str(), "mode 0777"));
  assert_int_equal(chmod(P("crl").c_str(), 01777), 0);
  st = OpenStateDir(P("crl"), false, false, &fd);
  assert_int_equal(static_cast<int>(st.code()), kOk);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(TestSecretRead, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestSecretModesRefused, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestSymlinkRefused, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestHardLinkRefused, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestNotRegularRefused, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestOwner, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestRootGivesToService, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestCreatedModes, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestReplace, SetUp, TearDown),
      cmocka_unit_test_setup_teardown(TestStateDir, SetUp, TearDown),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
