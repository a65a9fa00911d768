// certdir/recipient_directory: see recipient_directory.h.
#include "certdir/recipient_directory.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>

#include "base/ossl.h"
#include "certdir/smimea_source.h"
#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

std::string Describe(const CertCandidate& c) {
  return std::string(c.source) + " serial " + SerialHex(c.cert.get());
}

// DANE records of the address that confirm c (docs/dane.md): a matching
// DANE-EE (3) record binds it like a DANE-EE certificate, a matching PKIX-EE
// (1) one raises its trust to dane. Returns whether one matched.
bool ConfirmEndEntity(const std::vector<DaneRecord>& dane, CertCandidate* c) {
  bool matched = false;
  for (const DaneRecord& r : dane) {
    if ((r.usage != 1 && r.usage != 3) || !DaneMismatch(r, c->cert.get()).empty()) continue;
    matched = true;
    if (r.usage == 3) c->dane_ee = true;
  }
  if (matched && CertTrustRank(c->trust) < CertTrustRank(CertTrust::kDane))
    c->trust = CertTrust::kDane;
  return matched;
}

// A path from leaf to anchor, a DANE-TA (usage 2) trust anchor of the
// address (the configured anchors play no part).
ChainResult DaneTaChain(X509* leaf, STACK_OF(X509) * hints, X509* anchor, std::time_t now) {
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), anchor) != 1) {
    ChainResult r;
    r.reason = "internal: " + DrainOpensslErrors();
    return r;
  }
  return VerifyPath(store.get(), leaf, hints, now);
}

// DANE-TA (usage 2) anchors for c: certificates in the records (selector 0,
// matching 0) and path hints of c that match a usage-2 record.
std::vector<X509Ptr> DaneTaAnchors(const std::vector<DaneRecord>& dane, const CertCandidate& c) {
  std::vector<X509Ptr> out;
  for (const DaneRecord& r : dane) {
    if (r.usage != 2) continue;
    if (r.selector == 0 && r.mtype == 0) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(r.data.data());
      X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(r.data.size())));
      if (x) out.push_back(std::move(x));
      continue;
    }
    for (const X509Ptr& h : c.chain)
      if (DaneMismatch(r, h.get()).empty()) {
        X509_up_ref(h.get());
        out.emplace_back(h.get());
      }
  }
  return out;
}

// "" when c may be used for address, else why not. *chain_out receives the
// verified chain (leaf first) for the revocation check; it stays empty for
// a DANE-EE certificate, which has no CA.
std::string Problem(const std::string& address, CertCandidate& c, const ChoiceRules& rules,
                    const std::vector<DaneRecord>& dane, const TrustStore& trust, std::time_t now,
                    X509StackPtr* chain_out) {
  X509* cert = c.cert.get();
  if (!cert) return "unparseable";
  ConfirmEndEntity(dane, &c);
  if (!c.dane_ee) {
    bool named = false;
    for (const std::string& a : CertificateAddresses(cert))
      if (SameMailbox(a, address, false)) named = true;
    if (!named) return "does not name " + address;
  }
  if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) return "expired";
  if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) return "not yet valid";
  std::string usage = EncryptionUsageProblem(cert);
  if (!usage.empty()) return usage;
  if (c.dane_ee) {
    // The DNSSEC-validated record is the binding; no CA path to check.
    X509StackPtr self(sk_X509_new_null());
    sk_X509_push(self.get(), cert);
    std::string weak = PathAlgorithmProblem(self.get(), rules.algorithms);
    sk_X509_zero(self.get());  // borrowed
    if (!weak.empty()) return weak;
  } else {
    X509StackPtr hints(sk_X509_new_null());
    for (const X509Ptr& x : c.chain) sk_X509_push(hints.get(), x.get());
    ChainResult chain = trust.VerifyChain(cert, hints.get(), now);
    // No path to a configured anchor: a DANE-TA anchor of the address may
    // vouch for it instead (docs/dane.md).
    bool dane_ta = false;
    if (!chain.trusted)
      for (const X509Ptr& anchor : DaneTaAnchors(dane, c)) {
        ChainResult alt = DaneTaChain(cert, hints.get(), anchor.get(), now);
        if (!alt.trusted) continue;
        chain = std::move(alt);
        dane_ta = true;
        break;
      }
    sk_X509_zero(hints.get());  // borrowed
    if (!chain.trusted) return "chain: " + chain.reason;
    std::string weak = PathAlgorithmProblem(chain.chain.get(), rules.algorithms);
    if (!weak.empty()) return weak;
    // PKIX-TA (0) and DANE-TA (2) records: a certificate of the verified
    // path above the leaf must match one of them.
    bool ta_records = false, ta_match = false;
    for (const DaneRecord& r : dane) {
      if (r.usage != 0 && r.usage != 2) continue;
      ta_records = true;
      for (int i = 1; i < sk_X509_num(chain.chain.get()); ++i)
        if (DaneMismatch(r, sk_X509_value(chain.chain.get(), i)).empty()) ta_match = true;
    }
    if ((ta_match || dane_ta) && CertTrustRank(c.trust) < CertTrustRank(CertTrust::kDane))
      c.trust = CertTrust::kDane;
    if (ta_records && !ta_match && c.source == "dane")
      return "chain does not pass through the DANE trust anchor of the address";
    *chain_out = std::move(chain.chain);
  }
  if (CertTrustRank(c.trust) < CertTrustRank(rules.min_trust))
    return std::string("trust level ") + CertTrustName(c.trust) + " below " +
           CertTrustName(rules.min_trust);
  return "";
}

std::atomic<uint64_t> next_directory_id{1};

X509Ptr Ref(X509* x) {
  if (x) X509_up_ref(x);
  return X509Ptr(x);
}

CertCandidate CopyCandidate(const CertCandidate& c) {
  CertCandidate out;
  out.cert = Ref(c.cert.get());
  out.trust = c.trust;
  out.source = c.source;
  out.origin = c.origin;
  out.capabilities = c.capabilities;
  out.seen = c.seen;
  for (const X509Ptr& x : c.chain) out.chain.push_back(Ref(x.get()));
  out.dane_ee = c.dane_ee;
  out.refused = c.refused;
  out.dane = c.dane;
  return out;
}

// "" when the revocation answer for path lets it be used under rules, else
// "revoked" or "unknown" (hard only). deadline_hit: the answer was cut short.
std::string RevocationProblem(const ChoiceRules& rules, RevocationChecker* revocation,
                              STACK_OF(X509) * path, std::time_t now, const Deadline& deadline,
                              bool* deadline_hit) {
  if (rules.revocation == RevocationMode::kOff || !revocation) return "";
  RevocationResult rev = revocation->Check(path, nullptr, now, deadline).overall;
  if (rev.status == RevocationStatus::kRevoked) return "revoked";
  const bool unknown =
      rev.status == RevocationStatus::kUnknown || rev.status == RevocationStatus::kUnavailable;
  if (rules.revocation == RevocationMode::kHard && unknown) {
    *deadline_hit = rev.deadline;
    return "unknown";
  }
  return "";
}

}  // namespace

RecipientDirectory::RecipientDirectory() : id_(next_directory_id.fetch_add(1)) {}

bool RecipientDirectory::ChangeCounts(bool smimea, std::vector<uint64_t>* out) const {
  out->clear();
  for (const auto& source : sources_) {
    if (source->OptIn() && !smimea) continue;  // not asked: cannot change the choice
    uint64_t n = 0;
    if (!source->ChangeCount(&n)) return false;
    out->push_back(n);
  }
  if (hints_) {  // stored intermediates shape the paths
    uint64_t n = 0;
    if (!hints_->ChangeCount(&n).ok()) return false;
    out->push_back(n);
  }
  return true;
}

RecipientChoice RecipientDirectory::ChooseAgain(const RecipientChoice& earlier,
                                                const std::string& typed, const ChoiceRules& rules,
                                                const TrustStore& trust,
                                                RevocationChecker* revocation, std::time_t now,
                                                const Deadline& deadline, bool* reused) const {
  *reused = false;
  const std::string address = WithDomainForm(typed);
  std::vector<uint64_t> counts;
  bool same = earlier.found && earlier.reusable && earlier.path && earlier.chosen.cert &&
              earlier.directory_id == id_ && earlier.address == address &&
              earlier.min_trust == static_cast<int>(rules.min_trust) &&
              earlier.revocation == static_cast<int>(rules.revocation) &&
              earlier.min_rsa_bits == rules.algorithms.min_rsa_bits &&
              earlier.allow_sha1 == rules.algorithms.allow_sha1 && earlier.smimea == rules.smimea &&
              ChangeCounts(rules.smimea, &counts) && counts == earlier.counts;
  for (int i = 0; same && i < sk_X509_num(earlier.path.get()); ++i) {
    X509* x = sk_X509_value(earlier.path.get(), i);
    same = X509_cmp_time(X509_get0_notAfter(x), &now) >= 0 &&
           X509_cmp_time(X509_get0_notBefore(x), &now) <= 0;
  }
  bool deadline_hit = false;
  if (same && RevocationProblem(rules, revocation, earlier.path.get(), now, deadline, &deadline_hit)
                  .empty()) {
    RecipientChoice out;
    out.found = true;
    out.chosen = CopyCandidate(earlier.chosen);
    out.path.reset(X509_chain_up_ref(earlier.path.get()));
    out.reusable = true;
    out.directory_id = id_;
    out.counts = std::move(counts);
    out.address = address;
    out.min_trust = earlier.min_trust;
    out.revocation = earlier.revocation;
    out.min_rsa_bits = earlier.min_rsa_bits;
    out.allow_sha1 = earlier.allow_sha1;
    out.smimea = earlier.smimea;
    *reused = true;
    return out;
  }
  return Choose(typed, rules, trust, revocation, now, deadline);
}

RecipientChoice RecipientDirectory::Choose(const std::string& typed, const ChoiceRules& rules,
                                           const TrustStore& trust, RevocationChecker* revocation,
                                           std::time_t now, const Deadline& deadline) const {
  // Sources are asked with the domain in its one form (an RCPT already is;
  // `smimectl cert lookup` may be typed with U-labels).
  const std::string address = WithDomainForm(typed);
  RecipientChoice out;
  // Before the lookup: a change during it makes the choice not reusable.
  out.reusable = ChangeCounts(rules.smimea, &out.counts);
  out.directory_id = id_;
  out.address = address;
  out.min_trust = static_cast<int>(rules.min_trust);
  out.revocation = static_cast<int>(rules.revocation);
  out.min_rsa_bits = rules.algorithms.min_rsa_bits;
  out.allow_sha1 = rules.algorithms.allow_sha1;
  out.smimea = rules.smimea;
  std::vector<CertCandidate> usable;
  std::vector<X509StackPtr> chains;
  // Every source is asked first: DANE records may confirm candidates of
  // the sources before it.
  std::vector<CertCandidate> found;
  std::vector<DaneRecord> dane;
  for (const auto& source : sources_) {
    if (source->OptIn() && !rules.smimea) continue;
    const size_t before = found.size();
    Status st = source->Find(address, deadline, &found);
    if (!st.ok()) {
      // "ldap: why", once, whether or not the source names itself already.
      const std::string name = std::string(source->Name()) + ": ";
      out.unavailable.push_back(
          st.message().compare(0, name.size(), name) == 0 ? st.message() : name + st.message());
      out.deadline = out.deadline || deadline.expired();
    }
    for (size_t i = before; i < found.size(); ++i)
      for (const DaneRecord& r : found[i].dane) dane.push_back(r);
  }
  for (CertCandidate& c : found) {
    if (!c.refused.empty()) {
      out.rejected.push_back(c.origin.empty() ? c.source + ": " + c.refused
                                              : c.origin + ": " + c.refused);
      continue;
    }
    if (!c.cert) continue;  // DANE confirmation records, used above
    if (c.chain.empty() && hints_ && !c.dane_ee)
      hints_->IssuersOf(c.cert.get(), deadline, &c.chain);
    X509StackPtr chain;
    std::string problem = Problem(address, c, rules, dane, trust, now, &chain);
    if (!problem.empty()) {
      out.rejected.push_back(Describe(c) + ": " + problem);
      continue;
    }
    usable.push_back(std::move(c));
    chains.push_back(std::move(chain));
  }
  // Strongest key first (a newer but weaker certificate does not displace
  // a stronger one), newest among equals; revocation is asked only for the
  // one we would use (and the next when it is revoked), not for every
  // candidate.
  std::vector<size_t> order(usable.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto strength = [&](size_t i) {
    return EVP_PKEY_get_security_bits(X509_get0_pubkey(usable[i].cert.get()));
  };
  auto not_before = [&](size_t i) { return ToTimeT(X509_get0_notBefore(usable[i].cert.get())); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (strength(a) != strength(b)) return strength(a) > strength(b);
    return not_before(a) > not_before(b);
  });
  for (size_t i : order) {
    // A DANE-EE certificate has no issuer to ask (no path): withdrawing the
    // record revokes it (after the record's TTL, at most SmimeaSource::kMaxTtl).
    bool deadline_hit = false;
    const std::string rev = chains[i] ? RevocationProblem(rules, revocation, chains[i].get(), now,
                                                          deadline, &deadline_hit)
                                      : "";
    if (rev == "revoked") {
      out.rejected.push_back(Describe(usable[i]) + ": revoked");
      continue;
    }
    if (!rev.empty()) {
      // A responder outage is temporary: "try later", not "no certificate".
      out.unavailable.push_back(Describe(usable[i]) + ": revocation status unknown" +
                                (deadline_hit ? ": deadline reached" : ""));
      out.deadline = out.deadline || deadline_hit;
      continue;
    }
    out.found = true;
    out.chosen = std::move(usable[i]);
    out.path = std::move(chains[i]);
    break;
  }
  return out;
}

}  // namespace smime
