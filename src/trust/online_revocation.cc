// trust/online_revocation: see online_revocation.h.
#include "trust/online_revocation.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "base/ossl.h"
#include "base/safe_file.h"
#include "base/text.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

using CrlPtr = OnlineRevocationChecker::CrlPtr;
constexpr long kClockSkew = 300;  // seconds of tolerance for thisUpdate

CrlPtr Own(X509_CRL* crl) { return CrlPtr(crl, X509_CRL_free); }

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return Hex(md, n);
}

// The caches state_dir/crl and state_dir/ocsp (base/safe_file.h): the
// folder is created 0700 and never followed when it is a link, files are
// replaced atomically (a reader sees the old file or the new one, never
// half) with mode 0600, and a cache file that is a link, has other links or
// a foreign owner reads as missing.
bool ReadCacheFile(const std::string& dir, const std::string& name, std::string* out) {
  UniqueFd d;
  return OpenStateDir(dir, false, false, &d).ok() && ReadStateFileAt(d.get(), dir, name, out).ok();
}

bool WriteCacheFiles(const std::string& dir,
                     const std::vector<std::pair<std::string, std::string>>& files) {
  UniqueFd d;
  if (!OpenStateDir(dir, false, true, &d).ok()) return false;
  for (const auto& f : files)
    if (!ReplaceFileAt(d.get(), dir, f.first, f.second).ok()) return false;
  return true;
}

X509_CRL* ParseCrl(const std::string& data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  X509_CRL* crl = d2i_X509_CRL_bio(bio.get(), nullptr);
  if (!crl) {
    bio.reset(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  }
  DrainOpensslErrors();
  return crl;
}

std::string Der(X509_CRL* crl) {
  unsigned char* p = nullptr;
  int n = i2d_X509_CRL(crl, &p);
  std::string s = n > 0 ? std::string(reinterpret_cast<char*>(p), static_cast<size_t>(n)) : "";
  OPENSSL_free(p);
  return s;
}

// "" when crl is the issuer's current CRL at now, else why not.
// X509_CRL_verify is a public-key operation, and a local or cached CRL is
// checked against the same issuer for every message. The memo remembers,
// for CRL objects still alive elsewhere, the issuer certificates (compared
// by their DER, X509_cmp) whose key verified them. It holds only weak
// references: a freed CRL is forgotten, so no later object at the same
// address is ever taken for it. Failures are not remembered. Bounded,
// thread-safe, process-wide.
class CrlSignatureMemo {
 public:
  static CrlSignatureMemo& Shared() {
    static CrlSignatureMemo* memo = new CrlSignatureMemo;  // used until exit
    return *memo;
  }
  bool Known(const CrlPtr& crl, X509* issuer) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& e : entries_)
      if (e.crl.lock() == crl && X509_cmp(e.issuer.get(), issuer) == 0) return true;
    return false;
  }
  void Remember(const CrlPtr& crl, X509* issuer) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [](const Entry& e) { return e.crl.expired(); }),
                   entries_.end());
    if (entries_.size() >= kMaxEntries) entries_.pop_front();
    X509_up_ref(issuer);
    entries_.push_back({crl, X509Ptr(issuer)});
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  struct Entry {
    std::weak_ptr<X509_CRL> crl;
    X509Ptr issuer;
  };
  std::mutex mu_;
  std::deque<Entry> entries_;
};

bool CrlSignatureValid(X509_CRL* crl, X509* issuer) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (!key || X509_CRL_verify(crl, key) != 1) {
    DrainOpensslErrors();
    return false;
  }
  return true;
}

// The checks of CrlProblem below; memo (for local and cached CRLs, never
// those a message carries) spares the signature check of a CRL object
// already verified against the same issuer.
std::string CrlProblemImpl(X509_CRL* crl, const CrlPtr* memo, X509* issuer, std::time_t now) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
    return "crl-issuer-mismatch";
  if (memo && CrlSignatureMemo::Shared().Known(*memo, issuer)) {
    // verified before: same object, same issuer
  } else if (!CrlSignatureValid(crl, issuer)) {
    return "crl-signature-invalid";
  } else if (memo) {
    CrlSignatureMemo::Shared().Remember(*memo, issuer);
  }
  const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl);
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  if (!last || ASN1_TIME_cmp_time_t(last, now + kClockSkew) > 0) return "crl-not-yet-valid";
  if (next && ASN1_TIME_cmp_time_t(next, now) <= 0) return "crl-expired";
  return "";
}

std::string CrlProblem(X509_CRL* crl, X509* issuer, std::time_t now) {
  return CrlProblemImpl(crl, nullptr, issuer, now);
}

// The same for a CRL this checker keeps (local_crls_, crl_cache_).
std::string KeptCrlProblem(const CrlPtr& crl, X509* issuer, std::time_t now) {
  return CrlProblemImpl(crl.get(), &crl, issuer, now);
}

using DistPointsPtr =
    std::unique_ptr<STACK_OF(DIST_POINT), OsslDeleter<STACK_OF(DIST_POINT), CRL_DIST_POINTS_free>>;
using IdpPtr =
    std::unique_ptr<ISSUING_DIST_POINT, OsslDeleter<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>>;

// True when two distribution point names share a name (RFC 5280 6.3.3
// b.2.i). A fullName is compared name by name (URIs byte for byte); a
// nameRelativeToCRLIssuer stands for the issuer's DN plus the relative part
// (dpname, set by DIST_POINT_set_dpname).
bool DpNamesMatch(const DIST_POINT_NAME* a, const DIST_POINT_NAME* b) {
  if (a->type == 1 && b->type == 1) return X509_NAME_cmp(a->dpname, b->dpname) == 0;
  if (a->type == 1) std::swap(a, b);  // a is a fullName now
  for (int i = 0; i < sk_GENERAL_NAME_num(a->name.fullname); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(a->name.fullname, i);
    if (b->type == 1) {
      if (gn->type == GEN_DIRNAME && X509_NAME_cmp(gn->d.directoryName, b->dpname) == 0)
        return true;
      continue;
    }
    for (int j = 0; j < sk_GENERAL_NAME_num(b->name.fullname); ++j)
      if (GENERAL_NAME_cmp(gn, sk_GENERAL_NAME_value(b->name.fullname, j)) == 0) return true;
  }
  return false;
}

// True when the IDP's distribution point is one of cert's distribution
// points. Points that name only a cRLIssuer belong to indirect CRLs, which
// are not supported, so they never match.
bool IdpNamesCert(ISSUING_DIST_POINT* idp, X509_CRL* crl, X509* cert) {
  if (!DIST_POINT_set_dpname(idp->distpoint, X509_CRL_get_issuer(crl))) return false;
  DistPointsPtr dps(static_cast<STACK_OF(DIST_POINT)*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; dps && i < sk_DIST_POINT_num(dps.get()); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
    if (!dp->distpoint || !DIST_POINT_set_dpname(dp->distpoint, X509_get_issuer_name(cert)))
      continue;
    if (DpNamesMatch(idp->distpoint, dp->distpoint)) return true;
  }
  return false;
}

// "" when crl is a complete CRL that covers cert (RFC 5280 5.2, 5.3, 6.3.3):
// - delta CRLs, CRLs limited to some reasons (onlySomeReasons) and indirect
//   CRLs (indirectCRL, certificateIssuer entries) are refused: a newer
//   partial CRL must never be mistaken for the full list;
// - a critical extension we do not understand, on the CRL or on any entry,
//   makes the whole CRL unusable;
// - an issuingDistributionPoint limits the scope: its distribution point
//   name must be one of the certificate's distribution points (a CA that
//   partitions its CRLs signs every partition; only the one named in the
//   certificate lists it), and onlyContainsUserCerts / onlyContainsCACerts
//   / onlyContainsAttributeCerts must fit the certificate.
std::string CrlScopeProblem(X509_CRL* crl, X509* cert) {
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_delta_crl) return "delta-crl-not-supported";
    if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point &&
        nid != NID_crl_number && nid != NID_authority_key_identifier)
      return "crl-unknown-critical-extension";
  }
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const STACK_OF(X509_EXTENSION)* exts =
        X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(entries, i));
    for (int j = 0; j < sk_X509_EXTENSION_num(exts); ++j) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, j);
      int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
      if (nid == NID_certificate_issuer) return "indirect-crl-not-supported";
      if (X509_EXTENSION_get_critical(ext) && nid != NID_crl_reason && nid != NID_invalidity_date &&
          nid != NID_hold_instruction_code)
        return "crl-entry-unknown-critical-extension";
    }
  }
  int crit = -1;
  IdpPtr idp(static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, nullptr)));
  DrainOpensslErrors();
  if (!idp) return crit == -1 ? "" : "crl-idp-unreadable";  // -2: twice, >= 0: malformed
  if (idp->indirectCRL) return "indirect-crl-not-supported";
  if (idp->onlysomereasons) return "partial-crl-not-supported";
  const bool is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  if (idp->onlyattr || (idp->onlyCA && !is_ca) || (idp->onlyuser && is_ca))
    return "crl-scope-mismatch";
  if (idp->distpoint && !IdpNamesCert(idp.get(), crl, cert)) {
    DrainOpensslErrors();
    return "crl-distribution-point-mismatch";
  }
  return "";
}

// The cRLNumber, or -1 when absent or beyond 63 bits.
int64_t CrlNumber(X509_CRL* crl) {
  std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>> n(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  int64_t v = -1;
  if (!n || ASN1_INTEGER_get_int64(&v, n.get()) != 1 || v < 0) v = -1;
  DrainOpensslErrors();
  return v;
}

// True when a is the same CRL as b or a later one: not issued before it
// and, when both are numbered, not a lower cRLNumber.
bool NotOlder(X509_CRL* a, X509_CRL* b) {
  if (ASN1_TIME_compare(X509_CRL_get0_lastUpdate(a), X509_CRL_get0_lastUpdate(b)) < 0) return false;
  int64_t na = CrlNumber(a), nb = CrlNumber(b);
  return na < 0 || nb < 0 || na >= nb;
}

// True when a was issued after b.
bool Newer(X509_CRL* a, X509_CRL* b) {
  return ASN1_TIME_compare(X509_CRL_get0_lastUpdate(a), X509_CRL_get0_lastUpdate(b)) > 0;
}

std::vector<std::string> CrlUrls(X509* cert) {
  std::vector<std::string> urls;
  std::unique_ptr<STACK_OF(DIST_POINT), void (*)(STACK_OF(DIST_POINT)*)> dps(
      static_cast<STACK_OF(DIST_POINT)*>(
          X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)),
      CRL_DIST_POINTS_free);
  for (int i = 0; dps && i < sk_DIST_POINT_num(dps.get()); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
    if (!dp->distpoint || dp->distpoint->type != 0) continue;
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      std::string u(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)),
          static_cast<size_t>(ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
      if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) urls.push_back(u);
    }
  }
  DrainOpensslErrors();
  return urls;
}

std::vector<std::string> OcspUrls(X509* cert) {
  std::vector<std::string> urls;
  STACK_OF(OPENSSL_STRING)* s = X509_get1_ocsp(cert);
  for (int i = 0; s && i < sk_OPENSSL_STRING_num(s); ++i) {
    std::string u = sk_OPENSSL_STRING_value(s, i);
    if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) urls.push_back(u);
  }
  X509_email_free(s);
  return urls;
}

// "" when signer may sign OCSP answers about certificates of issuer (RFC
// 6960 4.2.2.2: the CA itself, or a responder it issued with OCSPSigning).
std::string ResponderProblem(X509* signer, X509* issuer, std::time_t now) {
  if (X509_cmp(signer, issuer) == 0) return "";
  if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0)
    return "ocsp-responder-not-authorised";
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (!key || X509_verify(signer, key) != 1) {
    DrainOpensslErrors();
    return "ocsp-responder-not-authorised";
  }
  uint32_t xku = X509_get_extended_key_usage(signer);
  if (xku == UINT32_MAX || !(xku & XKU_OCSP_SIGN)) return "ocsp-responder-lacks-ocspsigning";
  if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(signer), now) > 0 ||
      ASN1_TIME_cmp_time_t(X509_get0_notAfter(signer), now) < 0)
    return "ocsp-responder-certificate-expired";
  return "";
}

struct OcspAnswer {
  RevocationStatus status = RevocationStatus::kUnavailable;
  std::time_t next_update = 0;  // nextUpdate, else thisUpdate + max_age
  std::string why;              // non-empty: the answer is unusable
};

// Parses and checks an OCSP response about id: responder authority (the
// issuer or its delegate, at now), signature, nonce (when req is given),
// thisUpdate/nextUpdate at now. An answer without nextUpdate is usable for
// max_age seconds after its thisUpdate (and cached that long): without a
// nonce nothing else stops a recorded "good" from being replayed after
// the revocation.
OcspAnswer EvaluateOcsp(const std::string& body, OCSP_REQUEST* req, OCSP_CERTID* id, X509* issuer,
                        STACK_OF(X509) * chain, std::time_t now, long max_age) {
  OcspAnswer a;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(body.data());
  std::unique_ptr<OCSP_RESPONSE, void (*)(OCSP_RESPONSE*)> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(body.size())), OCSP_RESPONSE_free);
  auto bad = [&](std::string why) {
    DrainOpensslErrors();
    a.why = std::move(why);
    return a;
  };
  if (!resp) return bad("malformed OCSP response");
  int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return bad(std::string("OCSP responder status ") + OCSP_response_status_str(rs));
  std::unique_ptr<OCSP_BASICRESP, void (*)(OCSP_BASICRESP*)> bs(
      OCSP_response_get1_basic(resp.get()), OCSP_BASICRESP_free);
  if (!bs) return bad("OCSP response without basic response");
  // With a nonce sent, only an echoed nonce proves the answer is fresh.
  if (req && OCSP_check_nonce(req, bs.get()) != 1) return bad("OCSP nonce missing or wrong");
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(bs.get(), &signer, chain) != 1 || !signer)
    return bad("OCSP responder certificate not found");
  std::string problem = ResponderProblem(signer, issuer, now);
  if (!problem.empty()) return bad(problem);
  // Signature only: the responder's authority was checked above, at `now`.
  X509StackPtr signer_only(sk_X509_new_null());
  X509_up_ref(signer);
  sk_X509_push(signer_only.get(), signer);
  X509StorePtr empty(X509_STORE_new());
  if (OCSP_basic_verify(bs.get(), signer_only.get(), empty.get(), OCSP_NOVERIFY | OCSP_NOINTERN) !=
      1)
    return bad("OCSP response signature invalid");
  int status = -1, reason = 0;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (OCSP_resp_find_status(bs.get(), id, &status, &reason, &rev, &thisupd, &nextupd) != 1)
    return bad("OCSP response does not cover the certificate");
  if (!thisupd || ASN1_TIME_cmp_time_t(thisupd, now + kClockSkew) > 0)
    return bad("OCSP response not yet valid");
  if (nextupd && ASN1_TIME_cmp_time_t(nextupd, now) <= 0) return bad("OCSP response expired");
  if (!nextupd && ASN1_TIME_cmp_time_t(thisupd, now - max_age) < 0)
    return bad("OCSP response without nextUpdate older than ocsp_max_age");
  a.status = status == V_OCSP_CERTSTATUS_GOOD      ? RevocationStatus::kGood
             : status == V_OCSP_CERTSTATUS_REVOKED ? RevocationStatus::kRevoked
                                                   : RevocationStatus::kUnknown;
  a.next_update = nextupd ? ToTimeT(nextupd) : ToTimeT(thisupd) + max_age;
  DrainOpensslErrors();
  return a;
}

}  // namespace

OnlineRevocationChecker::OnlineRevocationChecker(const RevocationOptions& opts,
                                                 std::unique_ptr<HttpFetcher> fetcher)
    : opts_(opts),
      fetcher_(std::move(fetcher)),
      breaker_(opts.breaker_threshold, opts.breaker_cooldown) {}

Status OnlineRevocationChecker::Create(const RevocationOptions& opts,
                                       std::unique_ptr<HttpFetcher> fetcher,
                                       std::unique_ptr<OnlineRevocationChecker>* out) {
  std::unique_ptr<OnlineRevocationChecker> c(new OnlineRevocationChecker(opts, std::move(fetcher)));
  for (const std::string& f : opts.crl_files) {
    std::string data;
    if (!ReadWholeFile(f, &data)) return Status::Config(f + ": cannot read CRL file");
    X509_CRL* crl = ParseCrl(data);
    if (!crl) return Status::Config(f + ": not a CRL (DER or PEM)");
    c->local_crls_.push_back(Own(crl));
  }
  *out = std::move(c);
  return Status::Ok();
}

ChainRevocation OnlineRevocationChecker::Check(STACK_OF(X509) * chain,
                                               STACK_OF(X509_CRL) * embedded, std::time_t now,
                                               const Deadline& deadline) {
  ChainRevocation out;
  int n = chain ? sk_X509_num(chain) : 0;
  out.overall.status = RevocationStatus::kGood;
  for (int i = 0; i + 1 < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    X509* issuer = sk_X509_value(chain, i + 1);
    RevocationResult r = CheckOne(cert, issuer, chain, embedded, now, deadline);
    out.certs.push_back({SubjectText(cert), r});
  }
  // Worst first: revoked, then unavailable, unknown, no source; good only if all are.
  // Among the unavailable, one the deadline cut short is named: it is why
  // the chain got no answer in time.
  static const RevocationStatus kOrder[] = {
      RevocationStatus::kRevoked, RevocationStatus::kUnavailable, RevocationStatus::kUnknown,
      RevocationStatus::kNoSource};
  bool any_deadline = false;
  for (const CertRevocation& c : out.certs) any_deadline = any_deadline || c.result.deadline;
  for (RevocationStatus s : kOrder) {
    for (const CertRevocation& c : out.certs) {
      if (c.result.status == s &&
          (s != RevocationStatus::kUnavailable || !any_deadline || c.result.deadline)) {
        out.overall = c.result;
        if (&c != &out.certs.front() && !out.overall.detail.empty())
          out.overall.detail = "intermediate " + c.subject + ": " + out.overall.detail;
        else if (&c != &out.certs.front())
          out.overall.detail = "intermediate " + c.subject;
        return out;
      }
    }
  }
  if (!out.certs.empty()) out.overall = out.certs.front().result;
  return out;
}

RevocationResult OnlineRevocationChecker::CheckOne(X509* cert, X509* issuer, STACK_OF(X509) * chain,
                                                   STACK_OF(X509_CRL) * embedded, std::time_t now,
                                                   const Deadline& deadline) {
  RevocationResult last;
  last.status = RevocationStatus::kNoSource;
  for (const std::string& method : opts_.order) {
    RevocationResult r = method == "ocsp" ? ViaOcsp(cert, issuer, chain, now, deadline)
                                          : ViaCrl(cert, issuer, embedded, now, deadline);
    if (r.status == RevocationStatus::kNoSource) continue;
    if (r.status == RevocationStatus::kGood || r.status == RevocationStatus::kRevoked) return r;
    last = r;
  }
  return last;
}

RevocationResult OnlineRevocationChecker::ViaOcsp(X509* cert, X509* issuer, STACK_OF(X509) * chain,
                                                  std::time_t now, const Deadline& deadline) {
  RevocationResult r;
  r.source = "ocsp";
  std::vector<std::string> urls = OcspUrls(cert);
  if (urls.empty()) {
    r.status = RevocationStatus::kNoSource;
    return r;
  }
  std::unique_ptr<OCSP_CERTID, void (*)(OCSP_CERTID*)> id(OCSP_cert_to_id(EVP_sha1(), cert, issuer),
                                                          OCSP_CERTID_free);
  if (!id) {
    r.status = RevocationStatus::kUnavailable;
    r.detail = "cannot build OCSP request: " + DrainOpensslErrors();
    return r;
  }
  unsigned char* idder = nullptr;
  int idlen = i2d_OCSP_CERTID(id.get(), &idder);
  std::string key = Sha256Hex(std::string(reinterpret_cast<char*>(idder), idlen > 0 ? idlen : 0));
  OPENSSL_free(idder);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ocsp_cache_.find(key);
    if (it != ocsp_cache_.end() && now < it->second.next_update) {
      r.status = it->second.status;
      r.from_cache = true;
      return r;
    }
  }
  // A restart keeps OCSP answers: re-verify the stored response.
  std::string stored;
  if (ReadCacheFile(opts_.state_dir + "/ocsp", key + ".der", &stored)) {
    OcspAnswer a = EvaluateOcsp(stored, nullptr, id.get(), issuer, chain, now, opts_.ocsp_max_age);
    if (a.why.empty() && a.next_update && a.status != RevocationStatus::kUnknown) {
      std::lock_guard<std::mutex> lock(mu_);
      ocsp_cache_[key] = {a.status, a.next_update};
      r.status = a.status;
      r.from_cache = true;
      return r;
    }
  }
  const std::string& url = urls.front();
  if (!opts_.network) {
    r.status = RevocationStatus::kUnavailable;
    r.detail = "OCSP not asked: revocation_network = no";
    return r;
  }
  if (deadline.expired()) {  // no fetch starts after the step's deadline
    r.status = RevocationStatus::kUnavailable;
    r.deadline = true;
    r.detail = "deadline reached: OCSP " + url + " not asked";
    return r;
  }
  if (!breaker_.Allow(url, now)) {
    r.status = RevocationStatus::kUnavailable;
    r.detail = "responder " + url + " failing, circuit open";
    return r;
  }
  std::unique_ptr<OCSP_REQUEST, void (*)(OCSP_REQUEST*)> req(OCSP_REQUEST_new(), OCSP_REQUEST_free);
  if (!req || !OCSP_request_add0_id(req.get(), OCSP_CERTID_dup(id.get())) ||
      (opts_.nonce && !OCSP_request_add1_nonce(req.get(), nullptr, -1))) {
    r.status = RevocationStatus::kUnavailable;
    r.detail = "cannot build OCSP request: " + DrainOpensslErrors();
    return r;
  }
  unsigned char* rq = nullptr;
  int rqlen = i2d_OCSP_REQUEST(req.get(), &rq);
  HttpRequest http;
  http.url = url;
  http.post_body.assign(reinterpret_cast<char*>(rq), rqlen > 0 ? rqlen : 0);
  OPENSSL_free(rq);
  http.content_type = "application/ocsp-request";
  http.timeout_ms = deadline.Cap(opts_.timeout_ms);
  http.max_size = opts_.max_size;
  std::string body;
  Status st = fetcher_->Fetch(http, &body);
  auto unavailable = [&](const std::string& why) {
    breaker_.Failure(url, now);
    r.status = RevocationStatus::kUnavailable;
    r.detail = why;
    DrainOpensslErrors();
    return r;
  };
  // A fetch that fails once the deadline has passed waited only what was
  // left of it: the deadline ended it, not the responder.
  if (!st.ok() && deadline.expired()) {
    r.status = RevocationStatus::kUnavailable;  // not the responder's fault: breaker untouched
    r.deadline = true;
    r.detail = "deadline reached: " + url + ": " + st.message();
    return r;
  }
  if (!st.ok()) return unavailable(url + ": " + st.message());

  OcspAnswer a = EvaluateOcsp(body, opts_.nonce ? req.get() : nullptr, id.get(), issuer, chain, now,
                              opts_.ocsp_max_age);
  if (!a.why.empty()) return unavailable(a.why);
  breaker_.Success(url);
  r.status = a.status;
  if (r.status == RevocationStatus::kUnknown) r.detail = "OCSP responder says unknown";
  if (a.next_update && r.status != RevocationStatus::kUnknown) {
    std::lock_guard<std::mutex> lock(mu_);
    ocsp_cache_[key] = {r.status, a.next_update};
    WriteCacheFiles(opts_.state_dir + "/ocsp", {{key + ".der", body}});  // best effort
  }
  DrainOpensslErrors();
  return r;
}

OnlineRevocationChecker::CrlPtr OnlineRevocationChecker::CrlForUrl(
    const std::string& url, X509* issuer, std::time_t now, const Deadline& deadline,
    bool* from_cache, std::string* why, bool* cut_short) {
  *from_cache = false;
  *cut_short = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = crl_cache_.find(url);
    if (it != crl_cache_.end() && KeptCrlProblem(it->second, issuer, now).empty()) {
      *from_cache = true;
      return it->second;
    }
  }
  std::string data;
  if (ReadCacheFile(opts_.state_dir + "/crl", Sha256Hex(url) + ".crl", &data)) {
    if (X509_CRL* c = ParseCrl(data)) {
      CrlPtr crl = Own(c);
      if (CrlProblem(crl.get(), issuer, now).empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        crl_cache_[url] = crl;
        *from_cache = true;
        return crl;
      }
    }
  }
  if (!opts_.network) {
    *why = url + ": not fetched: revocation_network = no";
    return nullptr;
  }
  if (deadline.expired()) {  // no fetch starts after the step's deadline
    *cut_short = true;
    *why = "deadline reached: CRL " + url + " not fetched";
    return nullptr;
  }
  if (!breaker_.Allow(url, now)) {
    *why = "CRL server " + url + " failing, circuit open";
    return nullptr;
  }
  HttpRequest http;
  http.url = url;
  http.timeout_ms = deadline.Cap(opts_.timeout_ms);
  http.max_size = opts_.max_size;
  Status st = fetcher_->Fetch(http, &data);
  if (!st.ok() && deadline.expired()) {  // the deadline ended it: breaker untouched
    *cut_short = true;
    *why = "deadline reached: " + url + ": " + st.message();
    return nullptr;
  }
  if (!st.ok()) {
    breaker_.Failure(url, now);
    *why = url + ": " + st.message();
    return nullptr;
  }
  X509_CRL* c = ParseCrl(data);
  if (!c) {
    breaker_.Failure(url, now);
    *why = url + ": not a CRL";
    return nullptr;
  }
  breaker_.Success(url);
  CrlPtr crl = Own(c);
  std::string problem = CrlProblem(crl.get(), issuer, now);
  if (!problem.empty()) {
    *why = url + ": " + problem;
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    crl_cache_[url] = crl;
  }
  StoreCrl(url, crl.get(), issuer);  // a failed cache write only costs a later fetch
  return crl;
}

Status OnlineRevocationChecker::StoreCrl(const std::string& url, X509_CRL* crl, X509* issuer) {
  const std::string dir = opts_.state_dir + "/crl";
  const std::string base = Sha256Hex(url);
  BioPtr pem(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(pem.get(), issuer);
  char* p = nullptr;
  long n = BIO_get_mem_data(pem.get(), &p);
  if (!WriteCacheFiles(
          dir, {{base + ".crl", Der(crl)},
                {base + ".url", url + "\n"},
                {base + ".issuer.pem", std::string(p, n > 0 ? static_cast<size_t>(n) : 0)}}))
    return Status::Io("cannot write CRL cache in " + dir);
  return Status::Ok();
}

RevocationResult OnlineRevocationChecker::ViaCrl(X509* cert, X509* issuer,
                                                 STACK_OF(X509_CRL) * embedded, std::time_t now,
                                                 const Deadline& deadline) {
  RevocationResult r;
  r.source = "crl";
  CrlPtr best;
  bool best_cached = false, any_source = false;
  std::string why;            // the last problem seen
  bool why_deadline = false;  // ... was the step's deadline
  // Unknown when a CRL was there but unusable (expired, partial, out of
  // scope); unavailable when none could be fetched or verified.
  RevocationStatus why_status = RevocationStatus::kUnavailable;
  // Takes crl into account; true when it is a current, complete CRL of the issuer.
  // kept: a CRL of local_crls_ or crl_cache_ (the memo may vouch for its
  // signature), not one the message carries.
  auto consider = [&](const CrlPtr& crl, bool cached, bool kept) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert)) != 0)
      return false;
    any_source = true;
    std::string problem =
        kept ? KeptCrlProblem(crl, issuer, now) : CrlProblem(crl.get(), issuer, now);
    why_status =
        problem == "crl-expired" ? RevocationStatus::kUnknown : RevocationStatus::kUnavailable;
    if (problem.empty()) {
      problem = CrlScopeProblem(crl.get(), cert);
      why_status = RevocationStatus::kUnknown;
    }
    if (!problem.empty()) {
      why = problem;
      why_deadline = false;
      return false;
    }
    if (!best || Newer(crl.get(), best.get())) {
      best = crl;
      best_cached = cached;
    }
    return true;
  };
  for (const CrlPtr& crl : local_crls_) consider(crl, false, true);
  const std::vector<std::string> urls = CrlUrls(cert);
  CrlPtr from_dp;
  for (const std::string& url : urls) {
    any_source = true;
    bool cached = false, cut_short = false;
    std::string fail;
    CrlPtr crl = CrlForUrl(url, issuer, now, deadline, &cached, &fail, &cut_short);
    if (!crl) {
      why = fail;
      why_deadline = cut_short;
      why_status = fail.find("crl-expired") != std::string::npos ? RevocationStatus::kUnknown
                                                                 : RevocationStatus::kUnavailable;
      continue;
    }
    if (consider(crl, cached, true)) {
      from_dp = crl;
      break;  // one current CRL from the issuer's distribution points is enough
    }
  }
  // A CRL carried in the message is a hint from the sender: it may replace
  // the distribution point's CRL by a later one of the same scope, but it
  // never stands alone (an attacker would carry one from before the
  // revocation, or one of another partition).
  bool carried_unused = false;
  for (int i = 0; embedded && i < sk_X509_CRL_num(embedded); ++i) {
    X509_CRL* c = sk_X509_CRL_value(embedded, i);
    if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_issuer_name(cert)) != 0) continue;
    if (!from_dp) {
      carried_unused = true;
      continue;
    }
    if (!NotOlder(c, from_dp.get())) continue;
    X509_CRL_up_ref(c);
    consider(Own(c), false, false);
  }
  if (!any_source) {
    // Carried CRLs alone: the sender offered a source we may not use, which
    // is "unknown" (temporary), not a certificate without any source.
    r.status = carried_unused ? RevocationStatus::kUnknown : RevocationStatus::kNoSource;
    if (carried_unused)
      r.detail = "CRL carried in the message unused: none from the distribution point";
    return r;
  }
  if (!best) {
    r.status = why_status;
    r.detail = why.empty() ? "no current CRL" : why;
    r.deadline = why_deadline && why_status == RevocationStatus::kUnavailable;
    return r;
  }
  X509_REVOKED* revoked = nullptr;
  r.status = X509_CRL_get0_by_cert(best.get(), &revoked, cert) == 1 ? RevocationStatus::kRevoked
                                                                    : RevocationStatus::kGood;
  r.from_cache = best_cached;
  DrainOpensslErrors();
  return r;
}

Status OnlineRevocationChecker::RefreshCachedCrls(std::time_t now,
                                                  std::vector<std::string>* report) {
  const std::string dir = opts_.state_dir + "/crl";
  // Listed through the folder judged by OpenStateDir (never a link).
  UniqueFd dirfd;
  std::unique_ptr<DIR, int (*)(DIR*)> d(nullptr, closedir);
  if (OpenStateDir(dir, false, false, &dirfd).ok()) d.reset(fdopendir(dirfd.get()));
  if (d) dirfd.release();  // the DIR owns it now
  if (!d) {
    report->push_back("no CRL cache in " + dir);
    return Status::Ok();
  }
  std::vector<std::string> bases;
  while (struct dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".url") == 0)
      bases.push_back(name.substr(0, name.size() - 4));
  }
  int failed = 0;
  for (const std::string& base : bases) {
    std::string url, issuer_pem, data;
    if (!ReadCacheFile(dir, base + ".url", &url) ||
        !ReadCacheFile(dir, base + ".issuer.pem", &issuer_pem))
      continue;
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    BioPtr bio(BIO_new_mem_buf(issuer_pem.data(), static_cast<int>(issuer_pem.size())));
    X509Ptr issuer(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!issuer) continue;
    HttpRequest http;
    http.url = url;
    http.timeout_ms = opts_.timeout_ms;
    http.max_size = opts_.max_size;
    Status st = fetcher_->Fetch(http, &data);
    X509_CRL* c = st.ok() ? ParseCrl(data) : nullptr;
    if (!c) {
      ++failed;
      report->push_back(url + ": failed: " + (st.ok() ? "not a CRL" : st.message()));
      continue;
    }
    CrlPtr fresh = Own(c);
    std::string problem = CrlProblem(fresh.get(), issuer.get(), now);
    std::string old;
    CrlPtr cached;
    if (ReadCacheFile(dir, base + ".crl", &old))
      if (X509_CRL* oc = ParseCrl(old)) cached = Own(oc);
    if (!problem.empty()) {
      ++failed;
      report->push_back(url + ": rejected: " + problem);
    } else if (cached && Newer(cached.get(), fresh.get())) {
      report->push_back(url + ": kept the cached CRL (the server's is older)");
    } else if (!StoreCrl(url, fresh.get(), issuer.get()).ok()) {
      ++failed;
      report->push_back(url + ": cannot write the cache");
    } else {
      report->push_back(url + ": refreshed");
    }
  }
  DrainOpensslErrors();
  return failed ? Status::Io(std::to_string(failed) + " CRL(s) could not be refreshed")
                : Status::Ok();
}

}  // namespace smime
