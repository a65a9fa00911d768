// certdir/cert_store: see cert_store.h. Also the CertTrust names of
// certdir/cert_source.h.
#include "certdir/cert_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <utility>

#include "base/safe_file.h"
#include "base/text.h"
#include "cms/cert_cache.h"
#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

const char* CertTrustName(CertTrust t) {
  switch (t) {
    case CertTrust::kHarvested: return "harvested";
    case CertTrust::kDirectory: return "directory";
    case CertTrust::kAdmin: return "admin";
    case CertTrust::kDane: return "dane";
  }
  return "unknown";
}

int CertTrustRank(CertTrust t) {
  switch (t) {
    case CertTrust::kHarvested: return 1;
    case CertTrust::kDirectory: return 2;
    case CertTrust::kDane: return 3;
    case CertTrust::kAdmin: return 4;
  }
  return 0;
}

bool ParseCertTrust(const std::string& s, CertTrust* out) {
  if (s == "harvested") {
    *out = CertTrust::kHarvested;
  } else if (s == "directory") {
    *out = CertTrust::kDirectory;
  } else if (s == "admin") {
    *out = CertTrust::kAdmin;
  } else if (s == "dane") {
    *out = CertTrust::kDane;
  } else {
    return false;
  }
  return true;
}

namespace {

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

const char kSourceLocal[] = "local";
const char kSourceHarvest[] = "harvest";

// Version 1. Later versions add steps to SqliteCertStore::Init's migration.
const char kSchemaV1[] =
    "CREATE TABLE IF NOT EXISTS certificates ("
    " address TEXT NOT NULL,"                    // AddressForm (version 2)
    " fingerprint TEXT NOT NULL,"                // SHA-256 of der, lower-case hex
    " der BLOB NOT NULL,"                        // the certificate
    " trust INTEGER NOT NULL,"                   // CertTrust
    " source TEXT NOT NULL,"                     // 'local' | 'harvest'
    " first_seen INTEGER NOT NULL,"              // epoch seconds
    " last_seen INTEGER NOT NULL,"               // epoch seconds
    " seen_in TEXT NOT NULL DEFAULT '',"         // file (local) or message (harvest)
    " signing_time INTEGER NOT NULL DEFAULT 0,"  // newest signature seen with it
    " capabilities TEXT NOT NULL DEFAULT '',"    // NIDs, "427,419"
    " PRIMARY KEY (address, fingerprint));"
    // CA certificates seen with harvested or added ones: path hints for
    // chains whose intermediates the trust anchors lack.
    "CREATE TABLE IF NOT EXISTS intermediates ("
    " fingerprint TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL,"  // RFC 2253, to find a certificate's issuer
    " der BLOB NOT NULL)";

const char kColumns[] =
    "address, fingerprint, der, trust, source, first_seen, last_seen, seen_in, signing_time,"
    " capabilities";

}  // namespace

namespace cert_store_internal {

std::string CapabilitiesText(const std::vector<int>& caps) {
  std::string out;
  for (int nid : caps) {
    if (!out.empty()) out += ',';
    out += std::to_string(nid);
  }
  return out;
}

std::vector<int> ParseCapabilities(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(pos, end - pos);
    if (!item.empty() && item.size() < 10 &&
        item.find_first_not_of("0123456789") == std::string::npos)
      out.push_back(std::stoi(item));
    pos = end + 1;
  }
  return out;
}

std::string DerOf(X509* cert) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(cert, &buf);
  if (len <= 0) {
    DrainOpensslErrors();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

static std::string HexOf(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string FingerprintOfDer(const std::string& der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(der.data(), der.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    DrainOpensslErrors();
    return "";
  }
  return HexOf(md, n);
}

std::string DateOf(std::time_t t) {
  struct tm tm = {};
  char buf[32];
  if (!gmtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0) return "?";
  return buf;
}

// OK and *der when cert may be stored for address, else why not.
Status CheckCert(const std::string& address, X509* cert, std::string* der) {
  if (!cert) return Status::InvalidInput("no certificate");
  bool named = false;
  for (const std::string& a : CertificateAddresses(cert))
    if (SameMailbox(a, address, false)) named = true;
  if (!named) return Status::InvalidInput("the certificate does not name " + address);
  *der = DerOf(cert);
  if (der->empty()) return Status::InvalidInput("cannot encode the certificate");
  return Status::Ok();
}

}  // namespace cert_store_internal

namespace {

using namespace cert_store_internal;  // NOLINT(build/namespaces): this file defines them

bool BindText(sqlite3_stmt* s, int i, const std::string& v) {
  return sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) ==
         SQLITE_OK;
}

bool BindBlob(sqlite3_stmt* s, int i, const std::string& v) {
  return sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) ==
         SQLITE_OK;
}

bool BindTime(sqlite3_stmt* s, int i, std::time_t t) {
  return sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(t)) == SQLITE_OK;
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : "";
}

std::string ColumnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : "";
}

}  // namespace

std::string CertFingerprint(X509* cert) {
  if (!cert) return "";
  const std::string der = DerOf(cert);
  return der.empty() ? "" : FingerprintOfDer(der);
}

std::string NormalizeFingerprint(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.size() == 64 ? out : "";
}

// The SQLite backend.
class SqliteCertStore final : public CertStore {
 public:
  static Status Open(const std::string& path, std::shared_ptr<CertStore>* out);
  ~SqliteCertStore() override;
  SqliteCertStore(const SqliteCertStore&) = delete;
  SqliteCertStore& operator=(const SqliteCertStore&) = delete;

  const std::string& path() const override { return path_; }
  Status Add(const std::string& address, X509* cert, const std::string& origin,
             std::time_t now) override;
  Status Harvest(const std::string& address, X509* cert, const std::vector<int>& capabilities,
                 std::time_t signing_time, const std::string& seen_in, std::time_t now) override;
  Status Remove(const std::string& address, const std::string& fingerprint_or_empty,
                int* removed) override;
  Status List(std::vector<Row>* out) const override;
  Status Count(int64_t* admin, int64_t* harvested) const override;
  Status AddIntermediates(const std::vector<X509*>& certs) override;
  Status IssuersOf(X509* cert, const Deadline& deadline, std::vector<X509Ptr>* out) const override;
  Status ListIntermediates(std::vector<std::string>* der) const override;
  Status LookupWithin(const std::string& address, const Deadline& deadline,
                      std::vector<Row>* out) const override;
  Status Import(const Row& row) override;
  Status SchemaVersion(int* out) const override;
  Status ChangeCount(uint64_t* out) const override;
  uint64_t harvest_writes_skipped() const override;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  SqliteCertStore() = default;
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
  // Under mu_: the CA objects this connection stored (or found stored)
  // while data_version was intermediates_version_; a passing message hands
  // the same ones (shared objects from CertCache) every time, and each
  // INSERT OR IGNORE took SQLite's write lock. References are held, so an
  // address always means the same certificate. Bounded (emptied when full).
  std::map<X509*, X509Ptr> intermediates_memo_;
  uint64_t intermediates_version_ = 0;
  std::unique_ptr<sqlite3, Closer> db_;
  // After db_: finalized before the database closes.
  mutable std::map<std::string, std::unique_ptr<sqlite3_stmt, StmtFinalizer>> stmts_;
};

Status CertStore::Open(const std::string& path, std::shared_ptr<CertStore>* out) {
  return SqliteCertStore::Open(path, out);
}

void SqliteCertStore::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

SqliteCertStore::~SqliteCertStore() = default;

Status SqliteCertStore::Fail(const std::string& what) const {
  std::string m = "certificate store " + path_ + ": " + what;
  if (db_) {
    m += ": ";
    m += sqlite3_errmsg(db_.get());
    const int code = sqlite3_errcode(db_.get());
    const int sys = sqlite3_system_errno(db_.get());
    if (sys != 0 && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_READONLY ||
                     code == SQLITE_PERM))
      m += std::string(" (") + std::strerror(sys) + ")";
  }
  return Status::Io(std::move(m));
}

namespace {

// SQLite opens by path, and root opens this store too (`smime-milter -n`,
// smimectl) in a folder the service user owns: before it does, the folder
// must not be world-writable without the sticky bit, and the database and
// its journals must not be symbolic links, hard links or someone else's
// files (base/safe_file.h). A missing database is created here, mode 0600
// whatever the umask; SQLite gives its -wal and -shm files the database's
// mode (and, as root, its owner).
Status CheckFiles(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dirfd;
  Status st = OpenStateDir(dir, true, false, &dirfd);
  if (!st.ok()) return st;
  bool exists = false;
  for (const char* suffix : {"-wal", "-shm", "-journal", ""}) {
    st = CheckStateFile(path + suffix, &exists);
    if (!st.ok()) return st;
  }
  if (exists) return Status::Ok();
  // O_EXCL|O_NOFOLLOW: nothing planted meanwhile is opened; 0600 is then
  // set exactly, whatever the umask.
  // Created by root (smimectl) in the service user's folder, it is given to
  // the service user, so that the running daemon can go on writing to it.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.valid()) {
    struct stat folder;
    if (::fstat(dirfd.get(), &folder) == 0) GiveToService(fd.get(), folder.st_uid);
    if (::fchmod(fd.get(), 0600) == 0) return Status::Ok();
    return Status::Io("cannot set the mode of " + path + ": " + std::strerror(errno));
  }
  if (errno != EEXIST) return Status::Io("cannot create " + path + ": " + std::strerror(errno));
  // Another process created it meanwhile: judge what it made.
  return CheckStateFile(path, &exists);
}

}  // namespace

Status SqliteCertStore::Open(const std::string& path, std::shared_ptr<CertStore>* out) {
  std::shared_ptr<SqliteCertStore> store(new SqliteCertStore());
  store->path_ = path;
  if (path.empty()) return Status::Config("certificate store: no path");
  Status safe = CheckFiles(path);
  if (!safe.ok()) {
    const std::string m = "certificate store " + path + ": " + safe.message();
    return safe.code() == Status::Code::kConfig ? Status::Config(m) : Status::Io(m);
  }
  sqlite3* raw = nullptr;
  // NOFOLLOW: SQLite itself refuses a database path that is a symbolic link.
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  store->db_.reset(raw);  // closed on every path, also when open failed
  if (rc != SQLITE_OK) return store->Fail("cannot open");
  Status st = store->Init();
  if (!st.ok()) return st;
  *out = std::move(store);
  return Status::Ok();
}

Status SqliteCertStore::Init() {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3* db = db_.get();
  sqlite3_extended_result_codes(db, 0);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (sqlite3_db_readonly(db, "main") == 1)
    return Status::Io("certificate store " + path_ +
                      ": not writable (check the owner and mode of the file and its folder)");
  // The first statement reads the header: a file that is not a database
  // fails here.
  auto user_version = [&](int* v) -> Status {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK)
      return Fail("cannot read the schema version");
    StmtPtr s(raw);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return Fail("cannot read the schema version");
    *v = sqlite3_column_int(s.get(), 0);
    return Status::Ok();
  };
  int version = 0;
  Status st = user_version(&version);
  if (!st.ok()) return st;
  if (version > kSchemaVersion)
    return Status::Config("certificate store " + path_ + ": schema version " +
                          std::to_string(version) + " is newer than this build knows (" +
                          std::to_string(kSchemaVersion) + ")");
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return Fail("cannot select the WAL journal");
  if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return Fail("cannot set synchronous mode");
  if (version == kSchemaVersion) return Status::Ok();

  // Create or migrate under the write lock; another process may be doing
  // the same, so read the version again inside the transaction.
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return Fail("cannot lock for the schema");
  st = user_version(&version);
  if (st.ok() && version == 0) {
    if (sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr) != SQLITE_OK)
      st = Fail("cannot create the schema");
    version = 1;
  }
  if (st.ok() && version == 1) {
    st = NormalizeAddresses();
    version = 2;
  }
  // Later: if (st.ok() && version == 2) { ALTER TABLE ...; version = 3; }
  if (st.ok()) {
    const std::string set = "PRAGMA user_version=" + std::to_string(version);
    if (sqlite3_exec(db, set.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      st = Fail("cannot record the schema version");
  }
  if (st.ok() && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    st = Fail("cannot commit the schema");
  if (!st.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return st;
}

Status SqliteCertStore::NormalizeAddresses() {
  // Version 1 stored addresses ASCII lower-cased only: a U-label domain
  // ("bob@bücher.example") or a trailing dot stayed as written and would no
  // longer be found. Each such row moves to its AddressForm; when that row
  // already exists for the certificate, the two merge (higher trust and its
  // origin, earliest first_seen, latest last_seen, newest capabilities).
  sqlite3* db = db_.get();
  std::vector<std::pair<sqlite3_int64, std::string>> moves;  // rowid, new address
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT rowid, address FROM certificates", -1, &raw, nullptr) !=
        SQLITE_OK)
      return Fail("cannot read addresses to normalise");
    StmtPtr s(raw);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      const std::string address = ColumnText(s.get(), 1);
      const std::string form = AddressForm(address);
      if (form != address) moves.emplace_back(sqlite3_column_int64(s.get(), 0), form);
    }
    if (rc != SQLITE_DONE) return Fail("cannot read addresses to normalise");
  }
  static const char kMerge[] =
      "UPDATE certificates SET"
      " source = CASE WHEN o.trust > certificates.trust THEN o.source ELSE certificates.source END,"
      " seen_in = CASE WHEN o.trust > certificates.trust THEN o.seen_in"
      "   ELSE certificates.seen_in END,"
      " trust = max(certificates.trust, o.trust),"
      " first_seen = min(certificates.first_seen, o.first_seen),"
      " last_seen = max(certificates.last_seen, o.last_seen),"
      " capabilities = CASE WHEN o.signing_time > certificates.signing_time"
      "   THEN o.capabilities ELSE certificates.capabilities END,"
      " signing_time = max(certificates.signing_time, o.signing_time)"
      " FROM (SELECT * FROM certificates WHERE rowid = ?1) AS o"
      " WHERE certificates.address = ?2 AND certificates.fingerprint = o.fingerprint";
  static const char kMove[] = "UPDATE certificates SET address = ?2 WHERE rowid = ?1";
  static const char kDrop[] = "DELETE FROM certificates WHERE rowid = ?1";
  // Runs sql with ?1 = rowid (and ?2 = form); *changed = rows changed.
  auto run = [&](const char* sql, sqlite3_int64 rowid, const std::string* form, int* changed) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return false;
    StmtPtr s(raw);
    if (sqlite3_bind_int64(s.get(), 1, rowid) != SQLITE_OK ||
        (form && !BindText(s.get(), 2, *form)) || sqlite3_step(s.get()) != SQLITE_DONE)
      return false;
    *changed = sqlite3_changes(db);
    return true;
  };
  for (const auto& [rowid, form] : moves) {
    int merged = 0, changed = 0;
    if (!run(kMerge, rowid, &form, &merged) ||
        !(merged > 0 ? run(kDrop, rowid, nullptr, &changed) : run(kMove, rowid, &form, &changed)))
      return Fail("cannot normalise addresses");
  }
  return Status::Ok();
}

Status SqliteCertStore::Add(const std::string& address, X509* cert, const std::string& origin,
                            std::time_t now) {
  std::string der;
  Status st = CheckCert(address, cert, &der);
  if (!st.ok()) return st;
  static const char kSql[] =
      "INSERT INTO certificates (address, fingerprint, der, trust, source, first_seen, last_seen,"
      " seen_in) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)"
      " ON CONFLICT (address, fingerprint) DO UPDATE SET trust = excluded.trust,"
      " source = excluded.source, seen_in = excluded.seen_in,"
      " last_seen = max(last_seen, excluded.last_seen)";
  std::lock_guard<std::mutex> lock(mu_);
  PreparedStmt s = Prepared(kSql);
  if (!s) return Fail("cannot add");
  if (!BindText(s.get(), 1, AddressForm(address)) || !BindText(s.get(), 2, FingerprintOfDer(der)) ||
      !BindBlob(s.get(), 3, der) ||
      sqlite3_bind_int(s.get(), 4, static_cast<int>(CertTrust::kAdmin)) != SQLITE_OK ||
      !BindText(s.get(), 5, kSourceLocal) || !BindTime(s.get(), 6, now) ||
      !BindText(s.get(), 7, origin))
    return Fail("cannot add");
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Fail("cannot add " + address);
  ++writes_;
  harvest_memo_.clear();
  return Status::Ok();
}

void SqliteCertStore::StmtFinalizer::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

void SqliteCertStore::StmtReset::operator()(sqlite3_stmt* s) const {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

SqliteCertStore::PreparedStmt SqliteCertStore::Prepared(const std::string& sql) const {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      sqlite3_finalize(raw);
      return nullptr;
    }
    it = stmts_.emplace(sql, std::unique_ptr<sqlite3_stmt, StmtFinalizer>(raw)).first;
  }
  return PreparedStmt(it->second.get());
}

Status SqliteCertStore::Harvest(const std::string& address, X509* cert,
                                const std::vector<int>& capabilities, std::time_t signing_time,
                                const std::string& seen_in, std::time_t now) {
  std::string der;
  Status st = CheckCert(address, cert, &der);
  if (!st.ok()) return st;
  // One statement: atomic against other threads and processes. On UPDATE
  // every right-hand side sees the row as it was.
  static const char kSql[] =
      "INSERT INTO certificates (address, fingerprint, der, trust, source, first_seen, last_seen,"
      " seen_in, signing_time, capabilities) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)"
      " ON CONFLICT (address, fingerprint) DO UPDATE SET"
      " last_seen = max(last_seen, excluded.last_seen),"
      " seen_in = CASE WHEN trust = excluded.trust THEN excluded.seen_in ELSE seen_in END,"
      " capabilities = CASE WHEN excluded.signing_time > signing_time"
      "   THEN excluded.capabilities ELSE capabilities END,"
      " signing_time = max(signing_time, excluded.signing_time)"
      " RETURNING capabilities, signing_time";
  const std::string form = AddressForm(address);
  const std::string fp = FingerprintOfDer(der);
  const std::string caps = CapabilitiesText(capabilities);
  std::lock_guard<std::mutex> lock(mu_);
  // The memo: the same signer seen again within kHarvestMemoSeconds, with
  // nothing to change but last_seen and seen_in, is not written again.
  uint64_t version = 0;
  if (!DataVersion(&version)) return Fail("cannot harvest");
  if (version != memo_version_) {  // another connection wrote: forget all
    harvest_memo_.clear();
    memo_version_ = version;
  }
  const std::string key = form + '\n' + fp;
  auto it = harvest_memo_.find(key);
  // What the row holds (or will once written): the capabilities of the
  // newest signature seen, also of those whose write the memo skipped.
  std::string store_caps = caps;
  std::time_t store_signing = signing_time;
  if (it != harvest_memo_.end()) {
    const HarvestMemo& m = it->second;
    const bool same = m.capabilities == caps || signing_time <= m.newest_signing;
    if (same && now >= m.written && now < m.written + kHarvestMemoSeconds) {
      it->second.newest_signing = std::max(m.newest_signing, signing_time);
      ++harvest_skipped_;
      return Status::Ok();
    }
    if (signing_time <= m.newest_signing) {
      store_caps = m.capabilities;
      store_signing = m.newest_signing;
    }
  }
  PreparedStmt s = Prepared(kSql);
  if (!s) return Fail("cannot harvest");
  if (!BindText(s.get(), 1, form) || !BindText(s.get(), 2, fp) || !BindBlob(s.get(), 3, der) ||
      sqlite3_bind_int(s.get(), 4, static_cast<int>(CertTrust::kHarvested)) != SQLITE_OK ||
      !BindText(s.get(), 5, kSourceHarvest) || !BindTime(s.get(), 6, now) ||
      !BindText(s.get(), 7, seen_in) || !BindTime(s.get(), 8, store_signing) ||
      !BindText(s.get(), 9, store_caps))
    return Fail("cannot harvest");
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Fail("cannot harvest for " + address);
  // The row as written: the memo holds what it stores.
  const unsigned char* stored = sqlite3_column_text(s.get(), 0);
  store_caps = stored ? reinterpret_cast<const char*>(stored) : "";
  store_signing = static_cast<std::time_t>(sqlite3_column_int64(s.get(), 1));
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Fail("cannot harvest for " + address);
  ++writes_;
  if (it == harvest_memo_.end() && harvest_memo_.size() >= kHarvestMemoSize)
    harvest_memo_.clear();  // bounded
  HarvestMemo& m = harvest_memo_[key];
  m.capabilities = store_caps;
  m.newest_signing = store_signing;
  m.written = now;
  return Status::Ok();
}

Status CertStore::ResolvePrefix(const std::string& address, const std::string& typed,
                                std::string* fp) const {
  fp->clear();
  std::string prefix;
  bool hex = true;
  for (char c : typed) {
    if (c == ':') continue;
    hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!hex || prefix.size() < kFingerprintShown || prefix.size() > 64)
    return Status::InvalidInput("not a SHA-256 fingerprint or a prefix of at least " +
                                std::to_string(kFingerprintShown) + " hex digits: " + typed);
  std::vector<Row> rows;
  Status st = Lookup(address, &rows);
  if (!st.ok()) return st;
  for (const Row& r : rows) {
    if (r.fingerprint.compare(0, prefix.size(), prefix) != 0 || r.fingerprint == *fp) continue;
    if (!fp->empty())
      return Status::InvalidInput("fingerprint prefix " + typed +
                                  " matches several certificates of " + address +
                                  ": give more digits");
    *fp = r.fingerprint;
  }
  return Status::Ok();
}

Status CertStore::FingerprintToRemove(const std::string& address, const std::string& typed,
                                      std::string* fp, bool* nothing) const {
  *nothing = false;
  fp->clear();
  if (typed.empty()) return Status::Ok();
  *fp = NormalizeFingerprint(typed);
  if (!fp->empty()) return Status::Ok();
  Status st = ResolvePrefix(address, typed, fp);
  *nothing = st.ok() && fp->empty();
  return st;
}

Status SqliteCertStore::Remove(const std::string& address, const std::string& fingerprint_or_empty,
                               int* removed) {
  if (removed) *removed = 0;
  std::string fp;
  bool nothing = false;
  Status resolved = FingerprintToRemove(address, fingerprint_or_empty, &fp, &nothing);
  if (!resolved.ok() || nothing) return resolved;
  const char* sql = fp.empty() ? "DELETE FROM certificates WHERE address = ?1"
                               : "DELETE FROM certificates WHERE address = ?1 AND fingerprint = ?2";
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK)
    return Fail("cannot remove");
  StmtPtr s(raw);
  if (!BindText(s.get(), 1, AddressForm(address)) || (!fp.empty() && !BindText(s.get(), 2, fp)))
    return Fail("cannot remove");
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Fail("cannot remove " + address);
  if (removed) *removed = sqlite3_changes(db_.get());
  ++writes_;
  harvest_memo_.clear();
  return Status::Ok();
}

Status SqliteCertStore::Query(const char* where, const std::string& arg,
                              std::vector<Row>* out) const {
  const std::string sql = std::string("SELECT ") + kColumns + " FROM certificates" + where +
                          " ORDER BY address, trust DESC, first_seen, fingerprint";
  std::lock_guard<std::mutex> lock(mu_);
  PreparedStmt s = Prepared(sql);
  if (!s) return Fail("cannot read");
  if (*where && !BindText(s.get(), 1, arg)) return Fail("cannot read");
  std::vector<Row> rows;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Row r;
    r.address = ColumnText(s.get(), 0);
    r.fingerprint = ColumnText(s.get(), 1);
    r.der = ColumnBlob(s.get(), 2);
    r.trust = sqlite3_column_int(s.get(), 3) == static_cast<int>(CertTrust::kAdmin)
                  ? CertTrust::kAdmin
                  : CertTrust::kHarvested;
    r.source = ColumnText(s.get(), 4);
    r.first_seen = static_cast<std::time_t>(sqlite3_column_int64(s.get(), 5));
    r.last_seen = static_cast<std::time_t>(sqlite3_column_int64(s.get(), 6));
    r.seen_in = ColumnText(s.get(), 7);
    r.signing_time = static_cast<std::time_t>(sqlite3_column_int64(s.get(), 8));
    r.capabilities = ParseCapabilities(ColumnText(s.get(), 9));
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Fail("cannot read");
  for (Row& r : rows) out->push_back(std::move(r));
  return Status::Ok();
}

Status SqliteCertStore::List(std::vector<Row>* out) const { return Query("", "", out); }

bool SqliteCertStore::DataVersion(uint64_t* out) const {
  PreparedStmt s = Prepared("PRAGMA data_version");
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return false;
  *out = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
  return true;
}

Status SqliteCertStore::ChangeCount(uint64_t* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t version = 0;
  if (!DataVersion(&version)) return Fail("cannot read the change counter");
  *out = (version << 32) ^ (writes_ & 0xffffffffu);
  return Status::Ok();
}

uint64_t SqliteCertStore::harvest_writes_skipped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return harvest_skipped_;
}

Status SqliteCertStore::Count(int64_t* admin, int64_t* harvested) const {
  *admin = *harvested = 0;
  std::lock_guard<std::mutex> lock(mu_);
  PreparedStmt s = Prepared("SELECT trust, COUNT(*) FROM certificates GROUP BY trust");
  if (!s) return Fail("cannot count");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const int trust = sqlite3_column_int(s.get(), 0);
    const int64_t n = sqlite3_column_int64(s.get(), 1);
    if (trust == static_cast<int>(CertTrust::kAdmin))
      *admin += n;
    else
      *harvested += n;
  }
  return rc == SQLITE_DONE ? Status::Ok() : Fail("cannot count");
}

// A local file: no network wait for a deadline to bound.
Status SqliteCertStore::LookupWithin(const std::string& address, const Deadline&,
                                     std::vector<Row>* out) const {
  return Query(" WHERE address = ?1", AddressForm(address), out);
}

Status SqliteCertStore::Import(const Row& r) {
  static const char kSql[] =
      "INSERT OR REPLACE INTO certificates (address, fingerprint, der, trust, source, first_seen,"
      " last_seen, seen_in, signing_time, capabilities)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), kSql, -1, &raw, nullptr) != SQLITE_OK)
    return Fail("cannot import");
  StmtPtr s(raw);
  if (!BindText(s.get(), 1, AddressForm(r.address)) || !BindText(s.get(), 2, r.fingerprint) ||
      !BindBlob(s.get(), 3, r.der) ||
      sqlite3_bind_int(s.get(), 4, static_cast<int>(r.trust)) != SQLITE_OK ||
      !BindText(s.get(), 5, r.source) || !BindTime(s.get(), 6, r.first_seen) ||
      !BindTime(s.get(), 7, r.last_seen) || !BindText(s.get(), 8, r.seen_in) ||
      !BindTime(s.get(), 9, r.signing_time) ||
      !BindText(s.get(), 10, CapabilitiesText(r.capabilities)) ||
      sqlite3_step(s.get()) != SQLITE_DONE)
    return Fail("cannot import " + r.address);
  ++writes_;
  harvest_memo_.clear();
  return Status::Ok();
}

Status SqliteCertStore::ListIntermediates(std::vector<std::string>* der) const {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "SELECT der FROM intermediates ORDER BY fingerprint", -1, &raw,
                         nullptr) != SQLITE_OK)
    return Fail("cannot read intermediates");
  StmtPtr s(raw);
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) der->push_back(ColumnBlob(s.get(), 0));
  if (rc != SQLITE_DONE) return Fail("cannot read intermediates");
  return Status::Ok();
}

Status SqliteCertStore::SchemaVersion(int* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK)
    return Fail("cannot read the schema version");
  StmtPtr s(raw);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Fail("cannot read the schema version");
  *out = sqlite3_column_int(s.get(), 0);
  return Status::Ok();
}

Status SqliteCertStore::AddIntermediates(const std::vector<X509*>& certs) {
  static const char kSql[] =
      "INSERT OR IGNORE INTO intermediates (fingerprint, subject, der) VALUES (?1, ?2, ?3)";
  constexpr size_t kIntermediatesMemoSize = 1024;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t version = 0;
  if (!DataVersion(&version)) return Fail("cannot store intermediates");
  if (version != intermediates_version_) {  // another connection wrote: forget all
    intermediates_memo_.clear();
    intermediates_version_ = version;
  }
  for (X509* c : certs) {
    if (intermediates_memo_.count(c)) continue;
    if (X509_check_ca(c) <= 0 || X509_check_issued(c, c) == X509_V_OK) continue;  // CAs, not roots
    unsigned char* buf = nullptr;
    int len = i2d_X509(c, &buf);
    if (len <= 0) continue;
    std::string der(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
    OPENSSL_free(buf);
    PreparedStmt s = Prepared(kSql);
    if (!s) return Fail("cannot store intermediates");
    if (!BindText(s.get(), 1, FingerprintOfDer(der)) || !BindText(s.get(), 2, SubjectText(c)) ||
        !BindBlob(s.get(), 3, der) || sqlite3_step(s.get()) != SQLITE_DONE)
      return Fail("cannot store intermediates");
    if (sqlite3_changes(db_.get()) > 0) ++writes_;
    if (intermediates_memo_.size() >= kIntermediatesMemoSize) intermediates_memo_.clear();
    X509_up_ref(c);
    intermediates_memo_.emplace(c, X509Ptr(c));
  }
  DrainOpensslErrors();
  return Status::Ok();
}

namespace {

// X509_verify(child, parent's key) is a public-key operation, asked for the
// same stored intermediate at every lookup (twice per encrypted message).
// Remembers the pairs that verified. It holds references to both objects,
// so an address in it always means the same certificate (the objects come
// from CertCache, so lookups of the same rows meet the same objects);
// failures are not remembered. Bounded (emptied when full), thread-safe.
class IssuedByMemo {
 public:
  static IssuedByMemo& Shared() {
    static IssuedByMemo* memo = new IssuedByMemo;  // used until exit
    return *memo;
  }
  bool Verified(X509* child, X509* parent) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pairs_.count({child, parent})) return true;
    }
    EVP_PKEY* key = X509_get0_pubkey(parent);
    if (!key || X509_verify(child, key) != 1) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (pairs_.size() >= kMaxPairs) pairs_.clear();
    X509_up_ref(child);
    X509_up_ref(parent);
    pairs_.emplace(std::make_pair(child, parent), std::make_pair(X509Ptr(child), X509Ptr(parent)));
    return true;
  }

 private:
  static constexpr size_t kMaxPairs = 1024;
  std::mutex mu_;
  std::map<std::pair<X509*, X509*>, std::pair<X509Ptr, X509Ptr>> pairs_;
};

}  // namespace

bool StoredIssuerSigned(X509* child, X509* parent) {
  return IssuedByMemo::Shared().Verified(child, parent);
}

Status WalkStoredIssuers(
    X509* cert, const std::function<Status(const std::string&, const StoredDerSink&)>& by_subject,
    std::vector<X509Ptr>* out) {
  std::string issuer = IssuerText(cert);
  X509* child = cert;
  for (int depth = 0; depth < 4; ++depth) {
    std::string next;
    X509* parent = nullptr;
    Status st = by_subject(issuer, [&](const unsigned char* der, size_t len) {
      X509Ptr c = CertCache::Shared().Parse(der, len);
      if (!c || X509_check_issued(c.get(), child) != X509_V_OK ||
          !StoredIssuerSigned(child, c.get()))
        return;
      if (!parent && X509_check_issued(c.get(), c.get()) != X509_V_OK) {
        next = IssuerText(c.get());
        parent = c.get();
      }
      out->push_back(std::move(c));
    });
    if (!st.ok()) return st;
    if (!parent || next == issuer) break;
    issuer = next;
    child = parent;
  }
  DrainOpensslErrors();
  return Status::Ok();
}

Status SqliteCertStore::IssuersOf(X509* cert, const Deadline&, std::vector<X509Ptr>* out) const {
  // A few per name (WalkStoredIssuers keeps only real issuers).
  static const char kSql[] = "SELECT der FROM intermediates WHERE subject = ?1 LIMIT 16";
  std::lock_guard<std::mutex> lock(mu_);
  return WalkStoredIssuers(
      cert,
      [&](const std::string& subject, const StoredDerSink& each) {
        PreparedStmt s = Prepared(kSql);
        if (!s || !BindText(s.get(), 1, subject)) return Fail("cannot read intermediates");
        while (sqlite3_step(s.get()) == SQLITE_ROW)
          each(static_cast<const unsigned char*>(sqlite3_column_blob(s.get(), 0)),
               static_cast<size_t>(sqlite3_column_bytes(s.get(), 0)));
        return Status::Ok();
      },
      out);
}

namespace {

// The rows of store for address with the given trust, as candidates.
Status FindRows(const CertStore& store, const std::string& address, CertTrust trust,
                const Deadline& deadline, std::vector<CertCandidate>* out) {
  std::vector<CertStore::Row> rows;
  Status st = store.LookupWithin(address, deadline, &rows);
  if (!st.ok()) return st;
  for (CertStore::Row& r : rows) {
    if (r.trust != trust) continue;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
    X509Ptr cert = CertCache::Shared().Parse(p, r.der.size());
    if (!cert) {  // damaged row: skip, `smimectl cert list` shows it
      DrainOpensslErrors();
      continue;
    }
    CertCandidate c;
    c.cert = std::move(cert);
    c.trust = trust;
    c.source = r.source;
    c.origin = trust == CertTrust::kAdmin
                   ? "added from " + r.seen_in
                   : "harvested " + DateOf(r.last_seen) + " from " + r.seen_in;
    c.capabilities = std::move(r.capabilities);
    c.seen = r.first_seen;
    // Hints only: a failure (or no time left to ask) just leaves none.
    if (!deadline.expired()) store.IssuersOf(c.cert.get(), deadline, &c.chain);
    out->push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace

Status LocalCerts::Find(const std::string& address, const Deadline& deadline,
                        std::vector<CertCandidate>* out) const {
  return FindRows(*store_, address, CertTrust::kAdmin, deadline, out);
}

bool LocalCerts::ChangeCount(uint64_t* out) const { return store_->ChangeCount(out).ok(); }
bool HarvestedCerts::ChangeCount(uint64_t* out) const { return store_->ChangeCount(out).ok(); }

Status HarvestedCerts::Find(const std::string& address, const Deadline& deadline,
                            std::vector<CertCandidate>* out) const {
  return FindRows(*store_, address, CertTrust::kHarvested, deadline, out);
}

std::vector<std::string> AdminCertExpiryWarnings(const std::vector<CertStoreRow>& rows,
                                                 std::time_t now, int days) {
  std::vector<std::string> out;
  for (const CertStoreRow& r : rows) {
    if (r.trust != CertTrust::kAdmin) continue;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(r.der.size())));
    if (!cert) continue;
    const std::time_t not_after = ToTimeT(X509_get0_notAfter(cert.get()));
    const std::time_t left = not_after - now;
    if (left > static_cast<std::time_t>(days) * 86400) continue;
    char when[32];
    struct tm tm;
    gmtime_r(&not_after, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out.push_back("recipient certificate " + r.address + " (serial " + SerialHex(cert.get()) +
                  ", added from " + r.seen_in + (left <= 0 ? ") expired at " : ") expires at ") +
                  when +
                  (left <= 0 ? ": mail that must be encrypted to it is refused"
                             : ", in " + std::to_string(left / 86400) +
                                   " days: add its successor with smimectl cert add"));
  }
  return out;
}

std::time_t AdminCertEarliestNotAfter(const std::vector<CertStoreRow>& rows) {
  std::time_t earliest = 0;
  for (const CertStoreRow& r : rows) {
    if (r.trust != CertTrust::kAdmin) continue;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(r.der.size())));
    if (!cert) continue;
    const std::time_t t = ToTimeT(X509_get0_notAfter(cert.get()));
    if (earliest == 0 || t < earliest) earliest = t;
  }
  return earliest;
}

}  // namespace smime
