// trust/aia_fetch: see aia_fetch.h.
#include "trust/aia_fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/cms.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

namespace smime {

namespace {

// The kind of a non-public IPv4 address, or nullptr for a public one.
const char* Ipv4Kind(const unsigned char* a) {
  if (a[0] == 0) return "unspecified";  // 0.0.0.0/8: "this network"
  if (a[0] == 127) return "loopback";
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
    return "private";
  if (a[0] == 100 && (a[1] & 0xc0) == 64) return "shared (carrier-grade NAT)";
  if (a[0] == 169 && a[1] == 254) return "link-local";
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return "reserved (IETF protocol assignments)";
  if (a[0] == 198 && (a[1] & 0xfe) == 18) return "reserved (benchmarking)";
  if ((a[0] & 0xf0) == 224) return "multicast";
  if ((a[0] & 0xf0) == 240) return "reserved";  // with 255.255.255.255 broadcast
  return nullptr;
}

std::string AddressText(int family, const unsigned char* addr) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(family, addr, buf, sizeof buf);
  return buf;
}

bool HttpUrl(const std::string& url) {
  return url.size() > 7 && strncasecmp(url.c_str(), "http://", 7) == 0;
}

// The caIssuers URIs of cert, in certificate order.
std::vector<std::string> CaIssuersUrls(X509* cert) {
  std::vector<std::string> out;
  std::unique_ptr<AUTHORITY_INFO_ACCESS, void (*)(AUTHORITY_INFO_ACCESS*)> aia(
      static_cast<AUTHORITY_INFO_ACCESS*>(
          X509_get_ext_d2i(cert, NID_info_access, nullptr, nullptr)),
      AUTHORITY_INFO_ACCESS_free);
  if (!aia) return out;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (OBJ_obj2nid(ad->method) != NID_ad_ca_issuers || ad->location->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = ad->location->d.uniformResourceIdentifier;
    std::string u(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                  static_cast<size_t>(ASN1_STRING_length(uri)));
    if (u.find('\0') == std::string::npos) out.push_back(u);
  }
  return out;
}

}  // namespace

std::string AddressProblem(const struct sockaddr* sa, const std::vector<IpNetwork>& allow) {
  int family = 0;
  unsigned char a[16] = {};
  if (sa->sa_family == AF_INET) {
    family = AF_INET;
    std::memcpy(a, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    family = AF_INET6;
    std::memcpy(a, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else {
    return "address family " + std::to_string(sa->sa_family) + " refused";
  }
  const std::string text = AddressText(family, a);
  for (const IpNetwork& n : allow)
    if (InNetwork(n, family, a)) return "";
  if (family == AF_INET6) {
    static const unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char kZero[12] = {};
    const unsigned char* v4 = nullptr;
    if (IsV4Mapped(a) || std::memcmp(a, kNat64, 12) == 0) v4 = a + 12;
    // ::/96 (IPv4-compatible) except :: and ::1, which are judged below.
    if (std::memcmp(a, kZero, 12) == 0 && (a[12] | a[13] | a[14]) != 0) v4 = a + 12;
    if (a[0] == 0x20 && a[1] == 0x02) v4 = a + 2;  // 6to4
    if (v4) {
      sockaddr_in in{};
      in.sin_family = AF_INET;
      std::memcpy(&in.sin_addr, v4, 4);
      const std::string inner = AddressProblem(reinterpret_cast<const sockaddr*>(&in), allow);
      return inner.empty() ? "" : text + " carries " + inner;
    }
    const bool zero = std::memcmp(a, kZero, 12) == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0;
    if (zero && a[15] == 0) return text + " is unspecified";
    if (zero && a[15] == 1) return text + " is loopback";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return text + " is link-local";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return text + " is site-local";
    if ((a[0] & 0xfe) == 0xfc) return text + " is unique-local";
    if (a[0] == 0xff) return text + " is multicast";
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) return text + " is Teredo";
    // RFC 8215 64:ff9b:1::/48: a site's own NAT64 (it may reach any
    // private IPv4 address, embedded at a prefix length we cannot know).
    if (std::memcmp(a, kNat64, 5) == 0 && a[5] == 1) return text + " is local-use NAT64";
    if (a[0] == 0x01 && a[1] == 0 && (a[2] | a[3] | a[4] | a[5] | a[6] | a[7]) == 0)
      return text + " is discard-only";
    return "";
  }
  const char* kind = Ipv4Kind(a);
  return kind ? text + " is " + kind : "";
}

AiaFetcher::AiaFetcher(AiaOptions opts, std::unique_ptr<HttpFetcher> fetcher)
    : opts_(std::move(opts)),
      fetcher_(std::move(fetcher)),
      breaker_(opts_.breaker_threshold, opts_.breaker_cooldown) {}

std::vector<X509Ptr> AiaFetcher::IssuersIn(const std::string& body, X509* cert, bool* parsed) {
  std::vector<X509Ptr> all, out;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(body.data());
  const long len = static_cast<long>(body.size());
  X509Ptr one(d2i_X509(nullptr, &p, len));
  if (one && p == reinterpret_cast<const unsigned char*>(body.data()) + body.size()) {
    all.push_back(std::move(one));
  } else {
    p = reinterpret_cast<const unsigned char*>(body.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, len));
    if (cms && OBJ_obj2nid(CMS_get0_type(cms.get())) == NID_pkcs7_signed) {
      X509StackPtr certs(CMS_get1_certs(cms.get()));
      // A bundle is small: a few certificates at most are looked at.
      for (int i = 0; certs && i < sk_X509_num(certs.get()) && i < 8; ++i) {
        X509* c = sk_X509_value(certs.get(), i);
        X509_up_ref(c);
        all.emplace_back(c);
      }
    }
  }
  DrainOpensslErrors();
  *parsed = !all.empty();
  for (X509Ptr& c : all)
    if (X509_check_issued(c.get(), cert) == X509_V_OK) out.push_back(std::move(c));
  DrainOpensslErrors();
  return out;
}

bool AiaFetcher::Cached(const std::string& url, X509* cert, std::time_t now,
                        std::vector<X509Ptr>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(url);
  if (it == cache_.end()) return false;
  if (now - it->second.fetched > kCacheSeconds || now < it->second.fetched) {
    cache_.erase(it);
    return false;
  }
  for (const auto& c : it->second.certs)
    if (X509_check_issued(c.get(), cert) == X509_V_OK) {
      X509_up_ref(c.get());
      out->emplace_back(c.get());
    }
  DrainOpensslErrors();
  return !out->empty();
}

void AiaFetcher::Remember(const std::string& url, const std::vector<X509Ptr>& certs,
                          std::time_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kCacheEntries && cache_.find(url) == cache_.end()) {
    auto oldest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.fetched < b.second.fetched;
    });
    cache_.erase(oldest);
  }
  Entry e;
  e.fetched = now;
  for (const X509Ptr& c : certs) {
    X509_up_ref(c.get());
    e.certs.emplace_back(c.get(), X509_free);
  }
  cache_[url] = std::move(e);
}

AiaResult AiaFetcher::IssuersOf(X509* cert, std::time_t now, const Deadline& deadline,
                                int* budget) {
  AiaResult r;
  std::vector<std::string> urls = CaIssuersUrls(cert);
  DrainOpensslErrors();
  if (urls.empty()) return r;
  if (urls.size() > static_cast<size_t>(kMaxUrls)) urls.resize(kMaxUrls);
  if (!opts_.enabled) {
    r.outcome = "off";
    return r;
  }
  for (const std::string& u : urls)
    if (Cached(u, cert, now, &r.issuers)) {
      r.outcome = "cached";
      r.url = r.detail = u;
      ++cache_hits_;
      return r;
    }
  auto first_http = std::find_if(urls.begin(), urls.end(), HttpUrl);
  if (first_http == urls.end()) {
    r.outcome = "refused";
    r.url = urls[0];
    r.why = "only http URLs are fetched";
    r.detail = r.url + ": " + r.why;
    return r;
  }
  const std::string url = *first_http;
  r.url = r.detail = url;
  if (!opts_.network) {
    r.outcome = "no-network";
    return r;
  }
  if (*budget <= 0) {
    r.outcome = "budget";
    return r;
  }
  if (deadline.expired()) {
    r.outcome = "deadline";
    return r;
  }
  if (!breaker_.Allow(url, now)) {
    r.outcome = "breaker-open";
    ++breaker_refusals_;
    return r;
  }
  --*budget;
  ++fetches_;
  HttpRequest req;
  req.url = url;
  req.timeout_ms = deadline.Cap(opts_.timeout_ms);
  req.max_size = opts_.max_size;
  const std::vector<IpNetwork>& allow = opts_.allow;
  req.connect_check = [&allow](const struct sockaddr* sa) {
    const std::string why = AddressProblem(sa, allow);
    return why.empty() ? why : why + " and not in aia_allow_networks";
  };
  std::string body;
  Status st = fetcher_->Fetch(req, &body);
  if (!st.ok()) {
    const std::string& m = st.message();
    const bool refused = m.find("aia_allow_networks") != std::string::npos ||
                         m.find("redirect") != std::string::npos ||
                         m.find("Unsupported protocol") != std::string::npos;
    r.outcome = refused                                                   ? "refused"
                : m.find("larger than") != std::string::npos              ? "too-large"
                : deadline.expired() && req.timeout_ms < opts_.timeout_ms ? "deadline"
                                                                          : "failed";
    r.why = m;
    r.detail = url + ": " + m;
    ++(r.outcome == "refused"     ? refused_
       : r.outcome == "too-large" ? too_large_
       : r.outcome == "deadline"  ? deadline_
                                  : failed_);
    // A fetch the deadline cut short says nothing about the server.
    if (r.outcome != "deadline") breaker_.Failure(url, now);
    return r;
  }
  breaker_.Success(url);
  bool parsed = false;
  r.issuers = IssuersIn(body, cert, &parsed);
  if (r.issuers.empty()) {
    r.outcome = "no-issuer";
    ++no_issuer_;
    r.why = parsed ? "no certificate there issued this one"
                   : "not a DER certificate or certs-only bundle";
    r.detail = url + ": " + r.why;
    return r;
  }
  Remember(url, r.issuers, now);
  r.outcome = "fetched";
  return r;
}

AiaStats AiaFetcher::Stats(std::time_t now) const {
  AiaStats s;
  s.fetches = fetches_.load();
  s.failed = failed_.load();
  s.refused = refused_.load();
  s.too_large = too_large_.load();
  s.deadline = deadline_.load();
  s.no_issuer = no_issuer_.load();
  s.cache_hits = cache_hits_.load();
  s.breaker_refusals = breaker_refusals_.load();
  const CircuitBreaker::Snapshot b = breaker_.Stats(now);
  s.breakers_open = b.open;
  s.breakers_half_open = b.half_open;
  s.breaker_opens = b.opened;
  return s;
}

}  // namespace smime
