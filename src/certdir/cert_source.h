// certdir/cert_source: where recipient certificates come from.
//
// A CertSource answers "which certificates might belong to this address?"
// with candidates; it does not judge them. Selection (valid now, chains to
// a trust anchor, fit for encryption, names the address, not revoked,
// trust level high enough, newest first) is certdir/recipient_directory's
// job, the same for every source. Sources: the local store and harvested
// certificates (certdir/cert_store, SQLite under state_dir), LDAP
// (certdir/ldap_source) and DANE SMIMEA records in DNS
// (certdir/smimea_source). Find() may be called from many threads at once.
#ifndef SMIME_CERTDIR_CERT_SOURCE_H_
#define SMIME_CERTDIR_CERT_SOURCE_H_

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/ossl.h"
#include "base/status.h"

namespace smime {

// How much a certificate's presence in a source vouches for it belonging to
// the address: policy (encryption_min_trust) can require a level. The
// values are stored (certificates.db); their order is CertTrustRank's:
// harvested < directory < dane < admin.
enum class CertTrust { kHarvested = 1, kDirectory = 2, kAdmin = 3, kDane = 4 };

const char* CertTrustName(CertTrust t);  // "harvested", "directory", "dane", "admin"
bool ParseCertTrust(const std::string& s, CertTrust* out);
int CertTrustRank(CertTrust t);

// One DANE record (RFC 6698 / 8162 RDATA): certificate usage, selector,
// matching type and the association data.
struct DaneRecord {
  int usage = 0;     // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  int selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  int mtype = 0;     // 0 exact, 1 SHA-256, 2 SHA-512
  std::string data;
};

struct CertCandidate {
  X509Ptr cert;
  CertTrust trust = CertTrust::kHarvested;
  std::string source;  // "local", "harvest", "ldap"
  std::string origin;  // e.g. "harvested 2026-11-30 from <msgid>", "ldap://dir/uid=a,..."
  // SMIMECapabilities the owner announced (content-encryption NIDs, their
  // order); empty when unknown (local and LDAP certificates).
  std::vector<int> capabilities;
  std::time_t seen = 0;        // when the source learned it (0 unknown)
  std::vector<X509Ptr> chain;  // intermediates the source knows (path hints only)
  // DANE-EE: a validated DNS record binds the certificate to the address;
  // no CA and no name check (validity, key usage and algorithms still apply).
  bool dane_ee = false;
  // The source found something it must not use (a bogus or insecure DNS
  // answer): why. cert may then be null.
  std::string refused;
  // DANE records that cannot supply a certificate (hashes, SPKI, trust
  // anchors): with cert null, they confirm candidates of other sources.
  std::vector<DaneRecord> dane;
};

class CertSource {
 public:
  virtual ~CertSource() = default;
  virtual const char* Name() const = 0;
  // True for a source asked only for domains that turn it on (smimea).
  virtual bool OptIn() const { return false; }
  // Appends every certificate the source holds for address (compared in
  // mime/rcpt_address AddressForm: ASCII case-insensitively, the domain as
  // IDNA2008 A-labels). A source that cannot answer now (directory down,
  // timeout) returns a non-OK Status; "nothing found" is OK with no
  // candidates. A network source waits no longer than deadline (the
  // milter step's; Deadline() for none) and asks nothing once it has
  // passed, whose failure message then says "deadline"; local sources
  // ignore it.
  virtual Status Find(const std::string& address, const Deadline& deadline,
                      std::vector<CertCandidate>* out) const = 0;
  // A number that changes whenever what Find could return changes,
  // including changes by other processes; false when the source cannot
  // tell (network sources): a choice from it is then never reused.
  virtual bool ChangeCount(uint64_t* out) const {
    (void)out;
    return false;
  }
};

}  // namespace smime

#endif  // SMIME_CERTDIR_CERT_SOURCE_H_
