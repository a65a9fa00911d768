// certdir/cert_store: recipient certificates kept in SQLite under state_dir.
//
// One table, one row per (address, certificate): certificates an
// administrator added (`smimectl cert add`, trust admin, source "local") and
// certificates harvested from inbound signatures that verified as pass
// (trust harvested, source "harvest"), with when and where each was seen,
// the signingTime of the newest signature it came with and the
// SMIMECapabilities that signature announced. The same database serves the
// two CertSources LocalCerts and HarvestedCerts (certdir/cert_source.h).
//
// Entry points: CertStore::Open (creates the file and schema when missing,
// WAL journal, busy timeout so `smimectl` and the daemon can use it at once,
// PRAGMA user_version = schema version, older schemas migrated), then Add,
// Harvest, Remove, List, Lookup; LocalCerts/HarvestedCerts::Find per
// recipient. Threads: one connection per CertStore (opened
// SQLITE_OPEN_FULLMUTEX), and every call holds the store's mutex for its
// whole use of the connection, so SQLite's error text belongs to the failed
// call; all methods may be called from many threads. Each write is a single
// statement (atomic also against other processes); a write waits up to
// kBusyTimeoutMs for another process's write lock, then fails with kIo.
//
// Files (docs/SECURITY.md): a missing database is created mode 0600 (by
// root in a folder of the service user: given to the service user); the
// database and its -wal, -shm and -journal files are refused (kConfig) when
// a symbolic link, not a regular file, hard-linked or owned by an account
// other than root, the effective user or the service user, and so is a
// world-writable folder without the sticky bit - root opens this store too,
// in a folder the service user owns.
//
// Failure modes, each a Status naming the file: a path that cannot be opened
// or created (missing folder, not writable), a refused file or folder (see
// above), a file that is not a database
// or is corrupt, a schema newer than this build knows (kConfig), a database
// locked by another process for longer than the busy timeout (kIo); a
// certificate that does not name the address, or cannot be encoded
// (kInvalidInput). A stored certificate that no longer parses is skipped by
// Find (List and Lookup show it, so that it can be removed).
#ifndef SMIME_CERTDIR_CERT_STORE_H_
#define SMIME_CERTDIR_CERT_STORE_H_

#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"
#include "certdir/cert_source.h"

struct sqlite3;
struct sqlite3_stmt;

namespace smime {

// SHA-256 of the certificate's DER as 64 lower-case hex digits ("" when it
// cannot be encoded). The key of a row together with the address.
std::string CertFingerprint(X509* cert);

// Hex digits of a fingerprint `smimectl cert list` shows; Remove() accepts
// any prefix at least this long that names one certificate of the address.
constexpr size_t kFingerprintShown = 12;

// Accepts a fingerprint as users type it (upper or lower case, with or
// without ':' separators, e.g. `openssl x509 -fingerprint -sha256`) and
// returns the stored form; "" when it is not 32 bytes of hex.
std::string NormalizeFingerprint(const std::string& text);

struct CertStoreRow;

// One warning per admin-added row (cert add) whose certificate expires
// within days of now or has expired: harvested ones are replaced by the
// next signed mail, added ones only by the administrator. Logged at
// start-up, on reload and daily by the daemon.
std::vector<std::string> AdminCertExpiryWarnings(const std::vector<CertStoreRow>& rows,
                                                 std::time_t now, int days);

struct CertStoreRow {
  std::string address;                      // mime/rcpt_address AddressForm
  std::string fingerprint;                  // CertFingerprint form
  std::string der;                          // the certificate
  CertTrust trust = CertTrust::kHarvested;  // kAdmin or kHarvested
  std::string source;                       // "local" (admin) or "harvest"
  std::time_t first_seen = 0;
  std::time_t last_seen = 0;
  // Admin rows: the file it was added from; harvested rows: the message
  // (queue id / Message-ID) it was last seen in.
  std::string seen_in;
  std::time_t signing_time = 0;   // of the newest signature seen with it (0: none/unknown)
  std::vector<int> capabilities;  // content-encryption NIDs announced then, in order
};

class CertStore {
 public:
  using Row = CertStoreRow;
  // 1: the table; 2: every address in mime/rcpt_address AddressForm
  // (IDNA2008 A-label domains), version-1 rows moved or merged at Open.
  static constexpr int kSchemaVersion = 2;
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens (creating when missing) the database at path.
  static Status Open(const std::string& path, std::shared_ptr<CertStore>* out);
  ~CertStore();
  CertStore(const CertStore&) = delete;
  CertStore& operator=(const CertStore&) = delete;

  const std::string& path() const { return path_; }

  // Admin: stores cert for address with trust admin, source "local",
  // seen_in = origin (e.g. the file). Refuses a certificate that does not
  // name the address (CertificateAddresses + SameMailbox). An existing row
  // for the same certificate (harvested or admin) becomes admin; its
  // first_seen and learned capabilities are kept.
  Status Add(const std::string& address, X509* cert, const std::string& origin, std::time_t now);

  // Harvest from a verified signature: inserts a harvested row, or updates
  // last_seen (and seen_in, for harvested rows) of an existing one.
  // capabilities and signing_time replace the stored ones only when
  // signing_time is newer than the stored signingTime. An admin row stays
  // admin (source "local", its seen_in kept). Refuses a certificate that does
  // not name the address. A memo (kHarvestMemoSize pairs, all forgotten
  // when full) skips the write when this store wrote the same certificate
  // for the same address less than kHarvestMemoSeconds ago (by now), no
  // other connection has written since (ChangeCount), and the signature
  // announced the same capabilities (or is not newer than the newest seen):
  // last_seen and seen_in are then up to that old, nothing else differs.
  Status Harvest(const std::string& address, X509* cert, const std::vector<int>& capabilities,
                 std::time_t signing_time, const std::string& seen_in, std::time_t now);

  // Removes address's row for fingerprint (any form NormalizeFingerprint
  // accepts, or a prefix of at least kFingerprintShown hex digits that
  // matches exactly one of address's rows: an ambiguous one is
  // kInvalidInput), or all of address's rows when fingerprint is empty, whatever
  // their trust. *removed (may be null) gets the number of rows removed;
  // nothing to remove is OK with 0. A malformed fingerprint is kInvalidInput.
  Status Remove(const std::string& address, const std::string& fingerprint_or_empty, int* removed);

  // Every row, ordered by address, trust (admin first), first_seen.
  Status List(std::vector<Row>* out) const;
  // A number that changes whenever the database may have changed: a write
  // by any other connection or process (SQLite's PRAGMA data_version, e.g.
  // `smimectl cert remove`) or by this one. Cheap (no table is read): the
  // engine compares it to reuse a certificate choice within one message.
  Status ChangeCount(uint64_t* out) const;
  // Harvest writes the memo saved (see Harvest), for tests and the bench.
  uint64_t harvest_writes_skipped() const;
  static constexpr std::time_t kHarvestMemoSeconds = 3600;
  static constexpr size_t kHarvestMemoSize = 4096;

  // Number of rows by trust level (kAdmin, kHarvested), for the metrics.
  Status Count(int64_t* admin, int64_t* harvested) const;

  // Remembers the CA certificates among certs (not self-signed roots) as
  // path hints for later chain building; Find() attaches them to
  // candidates as CertCandidate::chain.
  Status AddIntermediates(const std::vector<X509*>& certs);
  // Stored intermediates that issued cert, and their issuers (4 levels).
  Status IssuersOf(X509* cert, std::vector<X509Ptr>* out) const;

  // The rows for address, same order. Every method takes an address in
  // any spelling and uses its AddressForm (ASCII lower case, IDNA2008
  // A-label domain): "bob@bücher.example" finds the rows stored for
  // bob@xn--bcher-kva.example, which is also how Add and Harvest store it.
  Status Lookup(const std::string& address, std::vector<Row>* out) const;

 private:
  // The full fingerprint of address's one row that starts with typed (hex,
  // ':' allowed); "" when none does. Too short, not hex or ambiguous:
  // kInvalidInput.
  Status ResolvePrefix(const std::string& address, const std::string& typed, std::string* fp) const;
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  CertStore() = default;
  Status Init();
  Status NormalizeAddresses();  // schema 1 -> 2; needs mu_ held, in Init's transaction
  Status Query(const char* where, const std::string& arg, std::vector<Row>* out) const;
  Status Fail(const std::string& what) const;  // needs mu_ held
  bool DataVersion(uint64_t* out) const;       // needs mu_ held

  // Statements are prepared once per store (parsing the SQL cost more than
  // running it) and reset, bindings cleared, when the handle goes.
  struct StmtFinalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  struct StmtReset {
    void operator()(sqlite3_stmt* s) const;
  };
  using PreparedStmt = std::unique_ptr<sqlite3_stmt, StmtReset>;
  PreparedStmt Prepared(const std::string& sql) const;  // needs mu_ held; null on error

  std::string path_;
  mutable std::mutex mu_;
  uint64_t writes_ = 0;  // this connection's writes (data_version ignores them); under mu_
  struct HarvestMemo {
    std::string capabilities;  // as stored: of the newest signature seen
    std::time_t newest_signing = 0;
    std::time_t written = 0;
  };
  // Under mu_: address form + '\n' + fingerprint -> the last harvest written.
  std::map<std::string, HarvestMemo> harvest_memo_;
  uint64_t memo_version_ = 0;  // data_version the memo is valid for
  uint64_t harvest_skipped_ = 0;
  std::unique_ptr<sqlite3, Closer> db_;
  // After db_: finalized before the database closes.
  mutable std::map<std::string, std::unique_ptr<sqlite3_stmt, StmtFinalizer>> stmts_;
};

// The admin-added rows of a store as a CertSource: Name() "local", trust
// kAdmin, origin "added from <file>", capabilities when a signature of the
// owner announced them (else empty), seen = first_seen.
class LocalCerts final : public CertSource {
 public:
  explicit LocalCerts(std::shared_ptr<const CertStore> store) : store_(std::move(store)) {}
  const char* Name() const override { return "local"; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override;
  bool ChangeCount(uint64_t* out) const override;

 private:
  std::shared_ptr<const CertStore> store_;
};

// The harvested rows as a CertSource: Name() "harvest", trust kHarvested,
// origin "harvested <YYYY-MM-DD of last_seen> from <seen_in>", the stored
// capabilities, seen = first_seen.
class HarvestedCerts final : public CertSource {
 public:
  explicit HarvestedCerts(std::shared_ptr<const CertStore> store) : store_(std::move(store)) {}
  const char* Name() const override { return "harvest"; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override;
  bool ChangeCount(uint64_t* out) const override;

 private:
  std::shared_ptr<const CertStore> store_;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_CERT_STORE_H_
