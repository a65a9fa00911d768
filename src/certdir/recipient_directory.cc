// certdir/recipient_directory: see recipient_directory.h.
#include "certdir/recipient_directory.h"

#include <openssl/evp.h>

#include <algorithm>

#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

std::string Describe(const CertCandidate& c) {
  return std::string(c.source) + " serial " + SerialHex(c.cert.get());
}

// "" when c may be used for address, else why not. *chain_out receives the
// verified chain (leaf first) for the revocation check.
std::string Problem(const std::string& address, const CertCandidate& c, const ChoiceRules& rules,
                    const TrustStore& trust, std::time_t now, X509StackPtr* chain_out) {
  X509* cert = c.cert.get();
  if (!cert) return "unparseable";
  if (static_cast<int>(c.trust) < static_cast<int>(rules.min_trust))
    return std::string("trust level ") + CertTrustName(c.trust) + " below " +
           CertTrustName(rules.min_trust);
  bool named = false;
  for (const std::string& a : CertificateAddresses(cert))
    if (SameMailbox(a, address, false)) named = true;
  if (!named) return "does not name " + address;
  if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) return "expired";
  if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) return "not yet valid";
  std::string usage = EncryptionUsageProblem(cert);
  if (!usage.empty()) return usage;
  X509StackPtr hints(sk_X509_new_null());
  for (const X509Ptr& x : c.chain) sk_X509_push(hints.get(), x.get());
  ChainResult chain = trust.VerifyChain(cert, hints.get(), now);
  sk_X509_zero(hints.get());  // borrowed
  if (!chain.trusted) return "chain: " + chain.reason;
  std::string weak = PathAlgorithmProblem(chain.chain.get(), rules.algorithms);
  if (!weak.empty()) return weak;
  *chain_out = std::move(chain.chain);
  return "";
}

}  // namespace

RecipientChoice RecipientDirectory::Choose(const std::string& typed, const ChoiceRules& rules,
                                           const TrustStore& trust, RevocationChecker* revocation,
                                           std::time_t now, const Deadline& deadline) const {
  // Sources are asked with the domain in its one form (an RCPT already is;
  // `smimectl cert lookup` may be typed with U-labels).
  const std::string address = WithDomainForm(typed);
  RecipientChoice out;
  std::vector<CertCandidate> usable;
  std::vector<X509StackPtr> chains;
  for (const auto& source : sources_) {
    std::vector<CertCandidate> found;
    Status st = source->Find(address, deadline, &found);
    if (!st.ok()) {
      // "ldap: why", once, whether or not the source names itself already.
      const std::string name = std::string(source->Name()) + ": ";
      out.unavailable.push_back(
          st.message().compare(0, name.size(), name) == 0 ? st.message() : name + st.message());
      out.deadline = out.deadline || deadline.expired();
    }
    for (CertCandidate& c : found) {
      if (c.chain.empty() && hints_ && c.cert) hints_->IssuersOf(c.cert.get(), deadline, &c.chain);
      X509StackPtr chain;
      std::string problem = Problem(address, c, rules, trust, now, &chain);
      if (!problem.empty()) {
        out.rejected.push_back(Describe(c) + ": " + problem);
        continue;
      }
      usable.push_back(std::move(c));
      chains.push_back(std::move(chain));
    }
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
    if (rules.revocation != RevocationMode::kOff && revocation) {
      RevocationResult rev = revocation->Check(chains[i].get(), nullptr, now, deadline).overall;
      if (rev.status == RevocationStatus::kRevoked) {
        out.rejected.push_back(Describe(usable[i]) + ": revoked");
        continue;
      }
      const bool unknown =
          rev.status == RevocationStatus::kUnknown || rev.status == RevocationStatus::kUnavailable;
      if (rules.revocation == RevocationMode::kHard && unknown) {
        // A responder outage is temporary: "try later", not "no certificate".
        out.unavailable.push_back(Describe(usable[i]) + ": revocation status unknown" +
                                  (rev.deadline ? ": deadline reached" : ""));
        out.deadline = out.deadline || rev.deadline;
        continue;
      }
    }
    out.found = true;
    out.chosen = std::move(usable[i]);
    break;
  }
  return out;
}

}  // namespace smime
