// base/safe_file: opening, creating and replacing files that another account
// could have swapped or linked, also when running as root.
//
// The daemon checks its configuration as root (`smime-milter -n`, the
// systemd ExecStartPre) and administrators run `smimectl` as root, but
// state_dir belongs to the service user, who could point a name there at
// /etc/shadow. Every open here therefore refuses a symbolic link in the last
// component (O_NOFOLLOW), and then judges what was opened by its descriptor
// (fstat), never a path stat'ed before the open: a regular file, one hard
// link, owned by a trusted account (root, the effective user, or the
// service account set with SetServiceAccount), not group- or
// world-writable; a secret (private key, passphrase, PIN, bind password)
// also not group- or world-readable. Files are created with O_EXCL and
// exactly their mode whatever the umask (0600 unless told); caches are
// replaced through a temporary file in the same folder (O_EXCL, fsync,
// rename), so a reader sees the old file or the new one. docs/SECURITY.md
// ("Files and permissions") describes the rules for administrators.
//
// Failure modes, each a Status naming the path: kNotFound when the file is
// missing, kConfig for a refusal (symbolic link, not a regular file, more
// than one link, untrusted owner, unsafe mode - owner and mode named), kIo
// for other system errors (errno's text).
#ifndef SMIME_BASE_SAFE_FILE_H_
#define SMIME_BASE_SAFE_FILE_H_

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace smime {

// The account the daemon serves as (the `user` parameter): its files are
// trusted like root's. Process-wide; set once the configuration is read,
// before anything under state_dir or a secret is opened. Unset (the
// default, and after ClearServiceAccount) only root and the effective user
// are trusted.
void SetServiceAccount(uid_t uid);
// The same by account name; false (nothing changed) when there is no such
// account.
bool SetServiceAccountByName(const std::string& user);
void ClearServiceAccount();
// True for root, the effective user and the service account.
bool TrustedOwner(uid_t uid);
// Root writing into a folder of the service user (folder_owner; smimectl
// run as root) gives what it creates (fd) to the service user, who must go
// on reading and replacing it; otherwise nothing changes. Best effort.
void GiveToService(int fd, uid_t folder_owner);
// The account name of uid, else the number.
std::string OwnerName(uid_t uid);

// Owns a file descriptor (closed on destruction).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now and reports the result (a late write error shows here).
  bool Close();

 private:
  int fd_ = -1;
};

enum class FileUse {
  kState,   // state_dir files and caches: trusted owner, not group/world-writable
  kSecret,  // keys, passphrases, PINs, passwords: also not group/world-readable
};

// Opens an existing file read-only under the rules above.
Status OpenForReading(const std::string& path, FileUse use, UniqueFd* out);

// The whole file, opened by OpenForReading.
Status ReadCheckedFile(const std::string& path, FileUse use, std::string* out);

// The one reader of secret files (private keys, passphrase, PIN and bind
// password files): OpenForReading(kSecret), whole content into *out (the
// caller wipes it). A group- or world-accessible file is refused as
// "refusing PATH (owner NAME, mode 0644): a private key or passphrase must
// not be group- or world-accessible; chmod 600 and chown it to the service
// user".
Status ReadSecretFile(const std::string& path, std::string* out);
// Its first line (without CR/LF); the rest of the file is wiped.
Status ReadSecretLine(const std::string& path, std::string* line);

// Creates path, which must not exist (O_EXCL: an existing file or symbolic
// link is an error), for writing, with exactly mode whatever the umask.
Status CreateNewFile(const std::string& path, mode_t mode, UniqueFd* out);

// Opens the folder dir (O_DIRECTORY; with follow_link false also O_NOFOLLOW
// on its last component), creating it with mode 0700 when create is set and
// it is missing (as root in a folder of the service user: given to the
// service user), and judges it: a trusted owner, and not world-writable
// without the sticky bit (anyone could plant names there).
Status OpenStateDir(const std::string& dir, bool follow_link, bool create, UniqueFd* out);

// Reads name (no '/') in the open folder dirfd like ReadCheckedFile(kState).
Status ReadStateFileAt(int dirfd, const std::string& dir, const std::string& name,
                       std::string* out);

// Replaces name (no '/') in the open folder dirfd with data: a new temporary
// file in the same folder (O_EXCL, mode), written, fsync'ed, renamed over
// name (a symbolic link there is replaced, never followed). dir names the
// folder in messages. A failure leaves name as it was and no temporary. Root
// writing into a folder of the service user gives the file to the service
// user (who goes on reading and replacing it).
Status ReplaceFileAt(int dirfd, const std::string& dir, const std::string& name,
                     const std::string& data, mode_t mode = 0600);
// The same for a path (its folder opened following links).
Status ReplaceFile(const std::string& path, const std::string& data, mode_t mode = 0600);

// For files another program (SQLite) opens by path: when path exists it must
// not be a symbolic link, must be a regular file with one link, a trusted
// owner and no group or world write access; group and world read access is
// removed (the file is ours to protect). A missing file is fine (*exists
// false).
Status CheckStateFile(const std::string& path, bool* exists);

// Root's chown (and chmod) of a file in a folder another account can write
// (the certificate store in state_dir, the milter socket): the file at path
// is opened as itself (O_PATH|O_NOFOLLOW, which also keeps SQLite's locks),
// must be of type (S_IFREG: also one link only; S_IFSOCK), and exactly that
// file is given to uid:gid and, when mode >= 0, set to mode - a name swapped
// for a link meanwhile redirects nothing. A missing file is OK with
// *exists false.
Status ChownOpened(const std::string& path, mode_t type, uid_t uid, gid_t gid, int mode,
                   bool* exists);

}  // namespace smime

#endif  // SMIME_BASE_SAFE_FILE_H_
