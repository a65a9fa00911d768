// certdir/smimea_source: SMIMEA lookups with libunbound. See smimea_source.h.
#include "certdir/smimea_source.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <poll.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/text.h"
#include "config/config.h"
#include "mime/rcpt_address.h"

namespace smime {

namespace {

constexpr int kTypeSmimea = 53;  // RFC 8162
constexpr int kClassIn = 1;
constexpr int kRcodeServfail = 2;

struct UbCtxDelete {
  void operator()(ub_ctx* c) const { ub_ctx_delete(c); }
};
using UbCtxPtr = std::unique_ptr<ub_ctx, UbCtxDelete>;
struct UbResultFree {
  void operator()(ub_result* r) const { ub_resolve_free(r); }
};
using UbResultPtr = std::unique_ptr<ub_result, UbResultFree>;

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

// "ADDR" or "ADDR@PORT" with a numeric IPv4/IPv6 address and port 1-65535.
bool ValidResolver(const std::string& r) {
  const size_t at = r.find('@');
  const std::string addr = r.substr(0, at);
  unsigned char buf[16];
  if (inet_pton(AF_INET, addr.c_str(), buf) != 1 && inet_pton(AF_INET6, addr.c_str(), buf) != 1)
    return false;
  if (at == std::string::npos) return true;
  const std::string port = r.substr(at + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const long p = std::strtol(port.c_str(), nullptr, 10);
  return p >= 1 && p <= 65535;
}

Status NewContext(const SmimeaOptions& o, UbCtxPtr* out) {
  UbCtxPtr ctx(ub_ctx_create());
  if (!ctx) return Status::Io("dane: cannot create a resolver context");
  // A thread, not a forked process, resolves in the background.
  int rc = ub_ctx_async(ctx.get(), 1);
  // The resolvers are what the administrator names, loopback included.
  if (rc == 0) rc = ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no");
  if (rc == 0 && o.resolvers.empty()) rc = ub_ctx_resolvconf(ctx.get(), nullptr);
  for (const std::string& r : o.resolvers)
    if (rc == 0) rc = ub_ctx_set_fwd(ctx.get(), r.c_str());
  if (rc == 0) rc = ub_ctx_add_ta_file(ctx.get(), o.trust_anchor_file.c_str());
  if (rc != 0) return Status::Io(std::string("dane: resolver setup: ") + ub_strerror(rc));
  *out = std::move(ctx);
  return Status::Ok();
}

struct Pending {
  bool done = false;
  int err = 0;
  ub_result* result = nullptr;
};

void OnAnswer(void* arg, int err, ub_result* result) {
  auto* p = static_cast<Pending*>(arg);
  p->done = true;
  p->err = err;
  p->result = result;
}

}  // namespace

// Idle libunbound contexts: one per concurrent lookup, each with its own
// DNS cache (answers are cached above it too).
struct SmimeaSource::Pool {
  std::mutex mu;
  std::vector<UbCtxPtr> idle;
};

Status SmimeaOptionsFromConfig(const Config& config, SmimeaOptions* out) {
  SmimeaOptions o;
  o.resolvers = config.List("dns_resolver");
  for (const std::string& r : o.resolvers)
    if (!ValidResolver(r))
      return Status::Config(config.Get("dns_resolver").origin + ": dns_resolver: '" + r +
                            "' is not ADDR or ADDR@PORT (numeric IPv4/IPv6 address)");
  o.trust_anchor_file = config.Str("dnssec_trust_anchor");
  o.timeout_ms = static_cast<int>(config.Int("dns_timeout")) * 1000;
  *out = o;
  return Status::Ok();
}

std::string SmimeaOwnerName(const std::string& address) {
  const size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= address.size()) return "";
  const std::string local = address.substr(0, at);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(local.data()), local.size(), md);
  return Hex(md, 28) + "._smimecert." + DomainForm(address.substr(at + 1));
}

Status ParseSmimeaRdata(const std::string& rdata, DaneRecord* out) {
  if (rdata.size() < 4) return Status::InvalidInput("SMIMEA record shorter than 4 octets");
  out->usage = static_cast<unsigned char>(rdata[0]);
  out->selector = static_cast<unsigned char>(rdata[1]);
  out->mtype = static_cast<unsigned char>(rdata[2]);
  out->data = rdata.substr(3);
  return Status::Ok();
}

std::string DescribeDaneRecord(const DaneRecord& r) {
  return "usage " + std::to_string(r.usage) + " selector " + std::to_string(r.selector) +
         " matching " + std::to_string(r.mtype);
}

std::string DaneMismatch(const DaneRecord& r, X509* cert) {
  std::string der;
  if (r.selector == 0) {
    unsigned char* p = nullptr;
    const int n = i2d_X509(cert, &p);
    if (n <= 0) return "certificate cannot be encoded";
    der.assign(reinterpret_cast<char*>(p), static_cast<size_t>(n));
    OPENSSL_free(p);
  } else if (r.selector == 1) {
    unsigned char* p = nullptr;
    const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &p);
    if (n <= 0) return "public key cannot be encoded";
    der.assign(reinterpret_cast<char*>(p), static_cast<size_t>(n));
    OPENSSL_free(p);
  } else {
    return "unknown selector " + std::to_string(r.selector);
  }
  std::string want;
  if (r.mtype == 0) {
    want = der;
  } else if (r.mtype == 1 || r.mtype == 2) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(der.data(), der.size(), md, &len, r.mtype == 1 ? EVP_sha256() : EVP_sha512(),
                    nullptr))
      return "digest failed";
    want.assign(reinterpret_cast<char*>(md), len);
  } else {
    return "unknown matching type " + std::to_string(r.mtype);
  }
  return want == r.data ? "" : "does not match " + DescribeDaneRecord(r);
}

SmimeaSource::SmimeaSource(const SmimeaOptions& options, const Clock* clock, SmimeaQueryFn query)
    : options_(options),
      clock_(clock ? clock : &system_clock_),
      query_(std::move(query)),
      pool_(std::make_unique<Pool>()),
      breaker_(kBreakerThreshold, kBreakerCooldown) {}

SmimeaSource::~SmimeaSource() = default;

Status SmimeaSource::Create(const SmimeaOptions& options, std::unique_ptr<SmimeaSource>* out,
                            const Clock* clock, SmimeaQueryFn query) {
  for (const std::string& r : options.resolvers)
    if (!ValidResolver(r)) return Status::Config("dns_resolver: '" + r + "' is not ADDR[@PORT]");
  if (!query) {
    std::FILE* f = std::fopen(options.trust_anchor_file.c_str(), "r");
    if (!f)
      return Status::Config("dnssec_trust_anchor: cannot read " + options.trust_anchor_file +
                            " (Debian: apt-get install dns-root-data)");
    std::fclose(f);
  }
  out->reset(new SmimeaSource(options, clock, std::move(query)));
  return Status::Ok();
}

Status SmimeaSource::Resolve(const std::string& owner, long timeout_ms, SmimeaAnswer* out) const {
  if (query_) return query_(owner, timeout_ms, out);
  UbCtxPtr ctx;
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (!pool_->idle.empty()) {
      ctx = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  if (!ctx) {
    Status st = NewContext(options_, &ctx);
    if (!st.ok()) return st;
  }
  Pending pending;
  int id = 0;
  int rc =
      ub_resolve_async(ctx.get(), owner.c_str(), kTypeSmimea, kClassIn, &pending, OnAnswer, &id);
  if (rc != 0) return Status::Io(std::string("dane: ") + ub_strerror(rc));
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pending.done) {
    const long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          end - std::chrono::steady_clock::now())
                                          .count());
    if (ms <= 0) {
      // The context's background thread may still hold the query: drop it.
      ub_cancel(ctx.get(), id);
      return Status::Io("dane: " + owner + ": no answer within " + std::to_string(timeout_ms) +
                        " ms");
    }
    pollfd p{ub_fd(ctx.get()), POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min(ms, 1000L)));
    if (n < 0 && errno != EINTR) return Status::Io("dane: poll failed");
    if (n > 0) {
      rc = ub_process(ctx.get());
      if (rc != 0) return Status::Io(std::string("dane: ") + ub_strerror(rc));
    }
  }
  UbResultPtr result(pending.result);
  if (pending.err != 0) return Status::Io("dane: " + owner + ": " + ub_strerror(pending.err));
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (pool_->idle.size() < 16) pool_->idle.push_back(std::move(ctx));
  }
  *out = SmimeaAnswer();
  out->ttl = result->ttl;
  if (result->bogus) {
    out->kind = SmimeaAnswer::Kind::kBogus;
    out->why = std::string("bogus DNSSEC answer: ") +
               (result->why_bogus ? result->why_bogus : "validation failed");
    return Status::Ok();
  }
  if (result->rcode == kRcodeServfail)
    return Status::Io("dane: " + owner + ": resolver answered SERVFAIL");
  if (!result->havedata) {
    out->kind = result->secure ? SmimeaAnswer::Kind::kSecure : SmimeaAnswer::Kind::kInsecure;
    out->why = "insecure DNS answer (no DNSSEC chain of trust)";
    return Status::Ok();  // NXDOMAIN or no SMIMEA record
  }
  if (!result->secure) {
    out->kind = SmimeaAnswer::Kind::kInsecure;
    out->why = "insecure DNS answer (zone not signed or no DNSSEC chain of trust to the anchor)";
  }
  for (int i = 0; result->data[i]; ++i)
    out->rdatas.emplace_back(result->data[i], static_cast<size_t>(result->len[i]));
  return Status::Ok();
}

Status SmimeaSource::Find(const std::string& address, const Deadline& deadline,
                          std::vector<CertCandidate>* out) const {
  const std::string owner = SmimeaOwnerName(WithDomainForm(address));
  if (owner.empty()) return Status::InvalidInput("dane: not an address: '" + address + "'");
  const std::time_t now = clock_->Now();
  SmimeaAnswer answer;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(owner);
    if (it != cache_.end() && it->second.expires > now) {
      answer = it->second.answer;
      cached = true;
    }
  }
  if (!cached) {
    if (deadline.expired()) return Status::Io("dane: deadline reached: DNS not asked");
    if (!breaker_.Allow("dns", now))
      return Status::Io("dane: DNS unavailable (failed " + std::to_string(kBreakerThreshold) +
                        " times in a row); not asked again for " +
                        std::to_string(kBreakerCooldown) + " s");
    Status st = Resolve(owner, deadline.Cap(options_.timeout_ms), &answer);
    if (!st.ok()) {
      if (deadline.expired()) return Status::Io("dane: deadline reached: " + st.message());
      breaker_.Failure("dns", clock_->Now());
      return st;
    }
    breaker_.Success("dns");
    const bool negative = answer.kind != SmimeaAnswer::Kind::kSecure || answer.rdatas.empty();
    const int ttl = std::max(0, std::min(answer.ttl, negative ? kMaxNegativeTtl : kMaxTtl));
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheEntries) {
      for (auto it = cache_.begin(); it != cache_.end();)
        it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
      if (cache_.size() >= kCacheEntries) cache_.erase(cache_.begin());
    }
    if (ttl > 0) cache_[owner] = CacheSlot{answer, now + ttl};
  }
  // A bogus answer is reported whether or not it carried data; an insecure
  // NXDOMAIN is simply nothing found.
  const bool bogus = answer.kind == SmimeaAnswer::Kind::kBogus;
  if (!bogus && answer.rdatas.empty()) return Status::Ok();  // NXDOMAIN or no record
  if (answer.kind != SmimeaAnswer::Kind::kSecure) {
    CertCandidate c;
    c.trust = CertTrust::kDane;
    c.source = "dane";
    c.origin = "dane: " + owner;
    c.refused =
        answer.why + (bogus ? ": not used"
                            : ": " + std::to_string(answer.rdatas.size()) + " record(s) not used");
    out->push_back(std::move(c));
    return Status::Ok();
  }
  CertCandidate confirm;
  for (const std::string& rdata : answer.rdatas) {
    DaneRecord r;
    if (!ParseSmimeaRdata(rdata, &r).ok()) continue;
    if ((r.usage == 1 || r.usage == 3) && r.selector == 0 && r.mtype == 0) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(r.data.data());
      X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(r.data.size())));
      if (!cert || p != reinterpret_cast<const unsigned char*>(r.data.data()) + r.data.size()) {
        CertCandidate bad;
        bad.source = "dane";
        bad.trust = CertTrust::kDane;
        bad.refused = DescribeDaneRecord(r) + ": not a DER certificate";
        out->push_back(std::move(bad));
        continue;
      }
      CertCandidate c;
      c.cert = std::move(cert);
      c.trust = CertTrust::kDane;
      c.source = "dane";
      c.origin = "dane: " + owner + " " + DescribeDaneRecord(r);
      c.dane_ee = r.usage == 3;
      c.seen = now;
      out->push_back(std::move(c));
    } else {
      confirm.dane.push_back(std::move(r));
    }
  }
  if (!confirm.dane.empty()) {
    confirm.trust = CertTrust::kDane;
    confirm.source = "dane";
    confirm.origin = "dane: " + owner;
    out->push_back(std::move(confirm));
  }
  return Status::Ok();
}

}  // namespace smime
