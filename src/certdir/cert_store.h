// certdir/cert_store: recipient certificates, the store's interface
// (CertStore, shared by the SQLite backend here and the PostgreSQL one of
// certdir/pg_cert_store.h; certdir/cert_store_open.h picks one) and its
// SQLite backend under state_dir, described below.
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
// ChangeCount (PRAGMA data_version plus this handle's writes) lets the
// engine reuse a recipient choice within a message, and a harvest memo
// skips repeated signer writes (see Harvest); neither is offered by the
// PostgreSQL backend.
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

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"
#include "certdir/cert_source.h"

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

// For the backends' IssuersOf: whether parent's key verifies child's
// signature. Pairs that verified are remembered process-wide (bounded,
// thread-safe; the public-key operation recurs at every lookup of a stored
// chain), failures are not.
bool StoredIssuerSigned(X509* child, X509* parent);

// The backends' IssuersOf, one walk for both: up to four levels above cert,
// by_subject(NAME, each) calls each(der, len) for every stored intermediate
// whose subject is NAME (a backend's query); only those that really issued
// and signed the child are appended to out (anyone with one trusted
// certificate can plant look-alike CAs), parsed through the process-wide
// certificate cache. A by_subject failure ends the walk with its Status
// (out keeps what was found).
using StoredDerSink = std::function<void(const unsigned char* der, size_t len)>;
Status WalkStoredIssuers(
    X509* cert, const std::function<Status(const std::string&, const StoredDerSink&)>& by_subject,
    std::vector<X509Ptr>* out);

// One warning per admin-added row (cert add) whose certificate expires
// within days of now or has expired: harvested ones are replaced by the
// next signed mail, added ones only by the administrator. Logged at
// start-up, on reload and daily by the daemon.
std::vector<std::string> AdminCertExpiryWarnings(const std::vector<CertStoreRow>& rows,
                                                 std::time_t now, int days);
// The earliest notAfter of the admin-added rows (0: none), for the metrics.
std::time_t AdminCertEarliestNotAfter(const std::vector<CertStoreRow>& rows);

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

// The store's operations, the same for both backends: SQLite (a file under
// state_dir, this header) and PostgreSQL (certdir/pg_cert_store.h, shared
// by several hosts). certdir/cert_store_open.h picks one from the
// certificate_store parameter.
class CertStore {
 public:
  using Row = CertStoreRow;
  // 1: the table; 2: every address in mime/rcpt_address AddressForm
  // (IDNA2008 A-label domains), version-1 rows moved or merged at Open.
  static constexpr int kSchemaVersion = 2;
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens (creating when missing) the SQLite database at path.
  static Status Open(const std::string& path, std::shared_ptr<CertStore>* out);
  virtual ~CertStore() = default;

  // The file, or "postgresql:" and the connection string: for messages.
  virtual const std::string& path() const = 0;

  // Admin: stores cert for address with trust admin, source "local",
  // seen_in = origin (e.g. the file). Refuses a certificate that does not
  // name the address (CertificateAddresses + SameMailbox). An existing row
  // for the same certificate (harvested or admin) becomes admin; its
  // first_seen and learned capabilities are kept.
  virtual Status Add(const std::string& address, X509* cert, const std::string& origin,
                     std::time_t now) = 0;

  // Harvest from a verified signature: inserts a harvested row, or updates
  // last_seen (and seen_in, for harvested rows) of an existing one.
  // capabilities and signing_time replace the stored ones only when
  // signing_time is newer than the stored signingTime. An admin row stays
  // admin (source "local", its seen_in kept). Refuses a certificate that does
  // not name the address. One statement: idempotent when several threads,
  // processes or hosts harvest the same certificate at once. The SQLite
  // backend keeps a memo (kHarvestMemoSize pairs, all forgotten when full)
  // that skips the write when it wrote the same certificate for the same
  // address less than kHarvestMemoSeconds ago (by now), no other connection
  // has written since (PRAGMA data_version), and the signature announced the
  // same capabilities (or is not newer than the newest seen): last_seen and
  // seen_in are then up to that old, nothing else differs. The PostgreSQL
  // backend has no memo: it cannot see every other host's writes cheaply.
  virtual Status Harvest(const std::string& address, X509* cert,
                         const std::vector<int>& capabilities, std::time_t signing_time,
                         const std::string& seen_in, std::time_t now) = 0;

  // Removes address's row for fingerprint (any form NormalizeFingerprint
  // accepts, or a prefix of at least kFingerprintShown hex digits that
  // matches exactly one of address's rows: an ambiguous one is
  // kInvalidInput), or all of address's rows when fingerprint is empty, whatever
  // their trust. *removed (may be null) gets the number of rows removed;
  // nothing to remove is OK with 0. A malformed fingerprint is kInvalidInput.
  virtual Status Remove(const std::string& address, const std::string& fingerprint_or_empty,
                        int* removed) = 0;

  // Every row, ordered by address, trust (admin first), first_seen.
  virtual Status List(std::vector<Row>* out) const = 0;
  // A number that changes whenever what the store holds may have changed,
  // by this handle or any other process or host; cheap (no table is read):
  // the engine compares it to reuse a certificate choice within one
  // message. SQLite: PRAGMA data_version (other connections) and this
  // handle's own writes. A backend that cannot tell for certain (PostgreSQL:
  // a removal on another host would go unseen) returns an error, and no
  // choice from it is reused.
  virtual Status ChangeCount(uint64_t* out) const = 0;
  // Harvest writes the memo saved (see Harvest; 0 without a memo), for
  // tests and the bench.
  virtual uint64_t harvest_writes_skipped() const { return 0; }
  static constexpr std::time_t kHarvestMemoSeconds = 3600;
  static constexpr size_t kHarvestMemoSize = 4096;

  // Number of rows by trust level (kAdmin, kHarvested), for the metrics.
  virtual Status Count(int64_t* admin, int64_t* harvested) const = 0;

  // Remembers the CA certificates among certs (not self-signed roots) as
  // path hints for later chain building; Find() attaches them to
  // candidates as CertCandidate::chain.
  virtual Status AddIntermediates(const std::vector<X509*>& certs) = 0;
  // Stored intermediates that issued cert, and their issuers (4 levels);
  // a network backend waits no longer than deadline.
  virtual Status IssuersOf(X509* cert, const Deadline& deadline,
                           std::vector<X509Ptr>* out) const = 0;
  // Every stored intermediate's DER (for `smimectl store copy`).
  virtual Status ListIntermediates(std::vector<std::string>* der) const = 0;

  // The rows for address, same order. Every method takes an address in
  // any spelling and uses its AddressForm (ASCII lower case, IDNA2008
  // A-label domain): "bob@bücher.example" finds the rows stored for
  // bob@xn--bcher-kva.example, which is also how Add and Harvest store it.
  // A network backend waits no longer than deadline (a local file ignores it).
  virtual Status LookupWithin(const std::string& address, const Deadline& deadline,
                              std::vector<Row>* out) const = 0;
  Status Lookup(const std::string& address, std::vector<Row>* out) const {
    return LookupWithin(address, Deadline(), out);
  }

  // Stores row as it is (trust, source, times, seen_in, capabilities):
  // `smimectl store copy`. An existing row for the same address and
  // certificate is replaced.
  virtual Status Import(const Row& row) = 0;

  // The schema version the store holds now (kSchemaVersion once opened).
  virtual Status SchemaVersion(int* out) const = 0;

 protected:
  CertStore() = default;
  // For Remove: the full fingerprint of address's one row that starts with
  // typed (hex, ':' allowed); "" when none does. Too short, not hex or
  // ambiguous: kInvalidInput. Built on Lookup, so the same for every backend.
  Status ResolvePrefix(const std::string& address, const std::string& typed, std::string* fp) const;
  // Remove's argument, for every backend: "" stays "" (all of address's
  // rows); a full fingerprint in any form is normalised; a prefix is
  // resolved (ResolvePrefix). *nothing: a valid prefix that matches no row.
  Status FingerprintToRemove(const std::string& address, const std::string& typed, std::string* fp,
                             bool* nothing) const;
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

// Helpers the backends share (not for other modules).
namespace cert_store_internal {
std::string CapabilitiesText(const std::vector<int>& caps);  // "427,419"
std::vector<int> ParseCapabilities(const std::string& text);
std::string DerOf(X509* cert);
std::string FingerprintOfDer(const std::string& der);
std::string DateOf(std::time_t t);  // YYYY-MM-DD, UTC
// OK and *der when cert may be stored for address, else why not.
Status CheckCert(const std::string& address, X509* cert, std::string* der);
}  // namespace cert_store_internal

}  // namespace smime

#endif  // SMIME_CERTDIR_CERT_STORE_H_
