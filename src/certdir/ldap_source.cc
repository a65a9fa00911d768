// certdir/ldap_source: LDAP certificate lookups with libldap. See ldap_source.h.
#include "certdir/ldap_source.h"

#include <lber.h>
#include <ldap.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include "base/safe_file.h"
#include "base/text.h"
#include "certdir/identity_store.h"
#include "config/config.h"
#include "mime/rcpt_address.h"

namespace smime {

namespace {

// --- RAII for libldap -----------------------------------------------------

struct LdapUnbind {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapUnbind>;
struct LdapMsgFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using LdapMsgPtr = std::unique_ptr<LDAPMessage, LdapMsgFree>;
struct LdapMemFree {
  void operator()(char* p) const { ldap_memfree(p); }
};
using LdapStrPtr = std::unique_ptr<char, LdapMemFree>;
struct BerFree {
  void operator()(BerElement* b) const { ber_free(b, 0); }
};
using BerPtr = std::unique_ptr<BerElement, BerFree>;
struct ValuesFree {
  void operator()(berval** v) const { ldap_value_free_len(v); }
};
using ValuesPtr = std::unique_ptr<berval*, ValuesFree>;
struct DnFree {
  void operator()(LDAPDN dn) const { ldap_dnfree(dn); }
};
struct UrlFree {
  void operator()(LDAPURLDesc* u) const { ldap_free_urldesc(u); }
};
using UrlPtr = std::unique_ptr<LDAPURLDesc, UrlFree>;

using SteadyTime = std::chrono::steady_clock::time_point;

long RemainingMs(SteadyTime deadline) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               deadline - std::chrono::steady_clock::now())
                               .count());
}

timeval ToTimeval(long ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// libldap's result code and diagnostic message of the last operation on ld.
std::string HandleError(LDAP* ld, int rc) {
  std::string m = ldap_err2string(rc);
  char* diag = nullptr;
  if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag) {
    LdapStrPtr holder(diag);
    if (*diag) m += std::string(" (") + diag + ")";
  }
  return m;
}

// True for errors after which a pooled connection is worth replacing.
bool ConnectionLost(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
         rc == LDAP_BUSY;
}

// The outcome of one libldap step: code 0 (LDAP_SUCCESS) is success, else
// the libldap code behind the failure and its message.
struct LdapError {
  int code = 0;
  Status status;
};

LdapError Fail(int code, std::string message) {
  return {code != LDAP_SUCCESS ? code : LDAP_OTHER, Status::Io(std::move(message))};
}

// Waits for one message of msgid until deadline.
LdapError WaitFor(LDAP* ld, int msgid, SteadyTime deadline, int timeout_ms, const char* what,
                  LdapMsgPtr* out) {
  const long ms = RemainingMs(deadline);
  const std::string late = std::string(what) + ": no answer within the deadline of " +
                           std::to_string(timeout_ms) + " ms";
  if (ms <= 0) return Fail(LDAP_TIMEOUT, late);
  timeval tv = ToTimeval(ms);
  LDAPMessage* m = nullptr;
  const int rc = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &m);
  LdapMsgPtr msg(m);
  if (rc == 0) return Fail(LDAP_TIMEOUT, late);
  if (rc == -1) {
    int err = LDAP_OTHER;
    ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
    return Fail(err, std::string(what) + ": " + HandleError(ld, err));
  }
  *out = std::move(msg);
  return {};
}

// The result code and diagnostic message of a result message.
LdapError ResultOf(LDAP* ld, LDAPMessage* msg, const std::string& what) {
  int err = LDAP_OTHER;
  char* diag = nullptr;
  const int rc = ldap_parse_result(ld, msg, &err, nullptr, &diag, nullptr, nullptr, 0);
  LdapStrPtr holder(diag);
  if (rc != LDAP_SUCCESS) return Fail(rc, what + ": unreadable answer: " + ldap_err2string(rc));
  if (err == LDAP_SUCCESS) return {};
  std::string m = what + ": " + ldap_err2string(err);
  if (diag && *diag) m += std::string(" (") + diag + ")";
  return Fail(err, m);
}

void SetTimeouts(LDAP* ld, SteadyTime deadline) {
  timeval tv = ToTimeval(std::max(RemainingMs(deadline), 1L));
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
}

// Opens, secures and binds one connection to uri.
LdapError Connect(const LdapOptions& o, const std::string& password, const std::string& uri,
                  SteadyTime deadline, LdapPtr* out) {
  LDAP* raw = nullptr;
  int rc = ldap_initialize(&raw, uri.c_str());
  LdapPtr ld(raw);
  if (rc != LDAP_SUCCESS || !ld) return Fail(rc, uri + ": " + ldap_err2string(rc));
  const int version = LDAP_VERSION3;
  ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld.get(), LDAP_OPT_RESTART, LDAP_OPT_ON);
  SetTimeouts(ld.get(), deadline);
  rc = ldap_connect(ld.get());
  if (rc != LDAP_SUCCESS) return Fail(rc, uri + ": " + HandleError(ld.get(), rc));
  int msgid = 0;
  LdapMsgPtr res;
  if (o.starttls) {
    rc = ldap_start_tls(ld.get(), nullptr, nullptr, &msgid);
    if (rc != LDAP_SUCCESS) return Fail(rc, uri + ": StartTLS: " + HandleError(ld.get(), rc));
    LdapError e = WaitFor(ld.get(), msgid, deadline, o.timeout_ms, "StartTLS", &res);
    if (e.code == 0) e = ResultOf(ld.get(), res.get(), "StartTLS");
    if (e.code != 0) return Fail(e.code, uri + ": " + e.status.message());
    SetTimeouts(ld.get(), deadline);  // bounds the TLS handshake
    rc = ldap_install_tls(ld.get());
    if (rc != LDAP_SUCCESS)
      return Fail(rc, uri + ": StartTLS handshake: " + HandleError(ld.get(), rc));
  }
  if (!o.bind_dn.empty()) {
    berval cred;
    cred.bv_val = const_cast<char*>(password.data());
    cred.bv_len = password.size();
    rc = ldap_sasl_bind(ld.get(), o.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                        &msgid);
    if (rc != LDAP_SUCCESS) return Fail(rc, uri + ": bind: " + HandleError(ld.get(), rc));
    const std::string what = "bind as " + o.bind_dn;
    LdapError e = WaitFor(ld.get(), msgid, deadline, o.timeout_ms, what.c_str(), &res);
    if (e.code == 0) e = ResultOf(ld.get(), res.get(), what);
    if (e.code != 0) return Fail(e.code, uri + ": " + e.status.message());
  }
  *out = std::move(ld);
  return {};
}

// Reads one entry's DN and attribute values.
void ReadEntry(LDAP* ld, LDAPMessage* entry, LdapEntry* out) {
  LdapStrPtr dn(ldap_get_dn(ld, entry));
  out->dn = dn ? dn.get() : "";
  BerElement* raw_ber = nullptr;
  LdapStrPtr attr(ldap_first_attribute(ld, entry, &raw_ber));
  BerPtr ber(raw_ber);
  for (; attr; attr.reset(ldap_next_attribute(ld, entry, ber.get()))) {
    ValuesPtr values(ldap_get_values_len(ld, entry, attr.get()));
    if (!values) continue;
    for (berval** v = values.get(); *v; ++v)
      out->values.emplace_back(attr.get(), std::string((*v)->bv_val, (*v)->bv_len));
  }
}

LdapError SearchOn(LDAP* ld, const LdapOptions& o, const std::string& filter, SteadyTime deadline,
                   LdapSearchResult* out) {
  std::vector<std::string> names = o.attributes;
  std::vector<char*> attrs;
  for (std::string& n : names) attrs.push_back(&n[0]);
  attrs.push_back(nullptr);
  // The server's own time limit, whole seconds (at least 1).
  timeval limit = {std::max(1L, (RemainingMs(deadline) + 999) / 1000), 0};
  SetTimeouts(ld, deadline);
  int msgid = 0;
  int rc = ldap_search_ext(ld, o.base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                           nullptr, nullptr, &limit, o.size_limit, &msgid);
  if (rc != LDAP_SUCCESS) return Fail(rc, "search " + filter + ": " + HandleError(ld, rc));
  const std::string what = "search " + filter;
  for (;;) {
    LdapMsgPtr msg;
    LdapError e = WaitFor(ld, msgid, deadline, o.timeout_ms, what.c_str(), &msg);
    if (e.code != 0) return e;
    switch (ldap_msgtype(msg.get())) {
      case LDAP_RES_SEARCH_ENTRY:
        out->entries.emplace_back();
        ReadEntry(ld, msg.get(), &out->entries.back());
        break;
      case LDAP_RES_SEARCH_REFERENCE: break;  // referrals are not chased
      case LDAP_RES_SEARCH_RESULT: {
        e = ResultOf(ld, msg.get(), what);
        if (e.code == LDAP_SIZELIMIT_EXCEEDED) {
          out->truncated = true;
          return {};
        }
        return e;
      }
      default: return Fail(LDAP_OTHER, what + ": unexpected message type");
    }
  }
}

bool ValidDn(const std::string& dn) {
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) return false;
  DnFree()(parsed);
  return true;
}

// An attribute description: name or OID, then ";option"s.
bool ValidAttribute(const std::string& a) {
  if (a.empty() || !std::isalnum(static_cast<unsigned char>(a[0]))) return false;
  for (char c : a)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != ';' && c != '.')
      return false;
  return a.back() != ';';
}

// Balanced parentheses, one outer pair, at least one %s.
std::string FilterProblem(const std::string& f) {
  if (f.find("%s") == std::string::npos) return "no %s where the address goes";
  if (f.size() < 2 || f.front() != '(' || f.back() != ')') return "not in parentheses";
  int depth = 0;
  bool closed_early = false;  // the outer pair ended before the last character
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\') {
      ++i;
      continue;
    }
    if (f[i] == '(') ++depth;
    if (f[i] == ')' && --depth < 0) return "unbalanced parentheses";
    if (depth == 0 && i + 1 < f.size()) closed_early = true;
  }
  if (depth != 0) return "unbalanced parentheses";
  if (closed_early) return "more than one outer pair of parentheses";
  return "";
}

Status ReadPassword(const std::string& path, std::string* out) {
  Status st = ReadSecretLine(path, out);
  if (!st.ok()) return Status::Config(st.message());
  if (out->empty())
    return Status::Config(path + " is empty: put the bind password on its first line");
  return Status::Ok();
}

X509Ptr UpRef(X509* c) {
  X509_up_ref(c);
  return X509Ptr(c);
}

}  // namespace

// --- configuration -----------------------------------------------------------

Status LdapOptionsFromConfig(const Config& config, LdapOptions* out) {
  LdapOptions o;
  // A value left at its default is blamed on the line that turned LDAP on.
  auto err = [&](const char* name, const std::string& why) {
    std::string origin = config.Get(name).origin;
    if (origin == "default") origin = config.Get("ldap_uri").origin;
    return Status::Config(origin + ": " + name + ": " + why);
  };
  o.uris = config.List("ldap_uri");
  o.base = config.Str("ldap_base");
  o.filter = config.Str("ldap_filter");
  o.attributes = config.List("ldap_attributes");
  o.bind_dn = config.Str("ldap_bind_dn");
  o.bind_password_file = config.Str("ldap_bind_password_file");
  o.starttls = config.Bool("ldap_starttls");
  o.timeout_ms = static_cast<int>(config.Int("ldap_timeout") * 1000);
  o.cache_ttl = static_cast<int>(config.Int("ldap_cache_ttl"));
  o.negative_cache_ttl = static_cast<int>(config.Int("ldap_negative_cache_ttl"));
  o.cache_size = static_cast<size_t>(config.Int("ldap_cache_size"));
  if (o.uris.empty()) {  // LDAP off: nothing else matters
    *out = std::move(o);
    return Status::Ok();
  }
  for (const std::string& uri : o.uris) {
    LDAPURLDesc* raw = nullptr;
    const int rc = ldap_url_parse(uri.c_str(), &raw);
    UrlPtr url(raw);
    if (rc != LDAP_URL_SUCCESS || !url)
      return err("ldap_uri",
                 "'" + uri + "' is not an LDAP URI (ldap://HOST[:PORT], ldaps://, ldapi://)");
    const std::string scheme = AsciiLower(url->lud_scheme ? url->lud_scheme : "");
    if (scheme != "ldap" && scheme != "ldaps" && scheme != "ldapi")
      return err("ldap_uri", "'" + uri + "': scheme must be ldap, ldaps or ldapi");
    if (o.starttls && scheme == "ldaps")
      return Status::Config(config.Get("ldap_starttls").origin + ": ldap_starttls: '" + uri +
                            "' already uses TLS (ldaps://); StartTLS is for ldap://");
  }
  if (o.base.empty())
    return err("ldap_base", "set the search base, e.g. ou=people,dc=example,dc=com");
  if (!ValidDn(o.base)) return err("ldap_base", "'" + o.base + "' is not a DN");
  std::string problem = FilterProblem(o.filter);
  if (!problem.empty()) return err("ldap_filter", "'" + o.filter + "': " + problem);
  if (o.attributes.empty()) return err("ldap_attributes", "name at least one attribute");
  for (const std::string& a : o.attributes)
    if (!ValidAttribute(a)) return err("ldap_attributes", "'" + a + "' is not an attribute name");
  if (!o.bind_dn.empty()) {
    if (!ValidDn(o.bind_dn)) return err("ldap_bind_dn", "'" + o.bind_dn + "' is not a DN");
    if (o.bind_password_file.empty())
      return err("ldap_bind_dn",
                 "set ldap_bind_password_file too (or neither, to bind anonymously)");
    std::string password;
    Status st = ReadPassword(o.bind_password_file, &password);
    OPENSSL_cleanse(&password[0], password.size());
    if (!st.ok()) return err("ldap_bind_password_file", st.message());
  } else if (!o.bind_password_file.empty()) {
    return err("ldap_bind_password_file", "set ldap_bind_dn too (the password is for that DN)");
  }
  *out = std::move(o);
  return Status::Ok();
}

// --- pure helpers --------------------------------------------------------------

std::string EscapeLdapFilterValue(const std::string& value) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) {
      out.push_back('\\');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string BuildLdapFilter(const std::string& filter_template, const std::string& address) {
  const std::string escaped = EscapeLdapFilterValue(address);
  std::string out;
  for (size_t i = 0; i < filter_template.size(); ++i) {
    if (filter_template.compare(i, 2, "%s") == 0) {
      out += escaped;
      ++i;
    } else {
      out.push_back(filter_template[i]);
    }
  }
  return out;
}

Status DecodeLdapCertificates(const std::string& value, std::vector<X509Ptr>* out) {
  if (value.empty()) return Status::InvalidInput("empty value");
  std::vector<X509Ptr> found;
  if (value.compare(0, 10, "-----BEGIN") == 0) {
    BioPtr bio(BIO_new_mem_buf(value.data(), static_cast<int>(value.size())));
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) found.emplace_back(c);
    DrainOpensslErrors();  // the read that ends the loop leaves "no start line"
    if (found.empty()) return Status::InvalidInput("PEM without a certificate");
  } else {
    const unsigned char* begin = reinterpret_cast<const unsigned char*>(value.data());
    const long len = static_cast<long>(value.size());
    const unsigned char* p = begin;
    X509Ptr cert(d2i_X509(nullptr, &p, len));
    if (cert && p == begin + len) {
      found.push_back(std::move(cert));
    } else {
      p = begin;
      CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, len));
      DrainOpensslErrors();
      if (!cms || p != begin + len)
        return Status::InvalidInput(cert ? "a certificate followed by extra bytes"
                                         : "neither a DER certificate nor PKCS#7/CMS");
      if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed)
        return Status::InvalidInput("PKCS#7/CMS but not SignedData");
      X509StackPtr certs(CMS_get1_certs(cms.get()));
      for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
        X509* c = sk_X509_value(certs.get(), i);
        if (X509_check_ca(c) == 0) found.push_back(UpRef(c));  // chain certificates left out
      }
      if (found.empty())
        return Status::InvalidInput("PKCS#7/CMS without an end-entity certificate");
    }
  }
  DrainOpensslErrors();
  for (X509Ptr& c : found) out->push_back(std::move(c));
  return Status::Ok();
}

// --- cache ---------------------------------------------------------------------------

bool LdapResultCache::Get(const std::string& key, std::time_t now, std::vector<Cert>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return false;
  if (it->second.expires <= now) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  out->clear();
  for (const Cert& c : it->second.certs) out->push_back({UpRef(c.cert.get()), c.dn, c.seen});
  return true;
}

void LdapResultCache::Put(const std::string& key, const std::vector<Cert>& certs,
                          std::time_t expires, std::time_t now) {
  if (max_entries_ == 0 || expires <= now) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  if (slots_.size() >= max_entries_) {
    for (auto s = slots_.begin(); s != slots_.end();) {
      if (s->second.expires <= now) {
        lru_.erase(s->second.lru);
        s = slots_.erase(s);
      } else {
        ++s;
      }
    }
  }
  while (slots_.size() >= max_entries_) {
    slots_.erase(lru_.back());
    lru_.pop_back();
  }
  Slot slot;
  for (const Cert& c : certs) slot.certs.push_back({UpRef(c.cert.get()), c.dn, c.seen});
  slot.expires = expires;
  lru_.push_front(key);
  slot.lru = lru_.begin();
  slots_.emplace(key, std::move(slot));
}

size_t LdapResultCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.size();
}

// --- the source ----------------------------------------------------------------------

struct LdapSource::Pool {
  static constexpr size_t kMaxIdle = 8;
  std::mutex mu;
  std::vector<LdapPtr> idle;

  LdapPtr Take() {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.empty()) return nullptr;
    LdapPtr ld = std::move(idle.back());
    idle.pop_back();
    return ld;
  }
  void Give(LdapPtr ld) {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(ld));
  }
};

LdapSource::LdapSource(const LdapOptions& options, const Clock* clock, LdapSearchFn search)
    : options_(options),
      clock_(clock ? clock : &system_clock_),
      search_(std::move(search)),
      pool_(std::make_unique<Pool>()),
      cache_(options.cache_size),
      breaker_(std::max(1, options.breaker_threshold), options.breaker_cooldown) {}

LdapSource::~LdapSource() {
  if (!password_.empty()) OPENSSL_cleanse(&password_[0], password_.size());
}

Status LdapSource::Create(const LdapOptions& options, std::unique_ptr<LdapSource>* out,
                          const Clock* clock, LdapSearchFn search) {
  if (options.uris.empty() && !search) return Status::Config("ldap: no ldap_uri");
  if (options.filter.find("%s") == std::string::npos)
    return Status::Config("ldap: filter '" + options.filter + "' has no %s");
  if (options.timeout_ms <= 0) return Status::Config("ldap: timeout must be positive");
  if (!options.bind_dn.empty() && options.bind_password_file.empty())
    return Status::Config("ldap: bind DN " + options.bind_dn + " without a password file");
  std::unique_ptr<LdapSource> src(new LdapSource(options, clock, std::move(search)));
  if (!options.bind_dn.empty()) {
    Status st = ReadPassword(options.bind_password_file, &src->password_);
    if (!st.ok()) return Status::Config("ldap: " + st.message());
  }
  if (!src->search_) {
    // libldap's one-time global set-up (reads ldap.conf): here, not in the
    // first lookups of many threads at once.
    static std::once_flag once;
    std::call_once(once, [] {
      int v = 0;
      ldap_get_option(nullptr, LDAP_OPT_PROTOCOL_VERSION, &v);
    });
  }
  *out = std::move(src);
  return Status::Ok();
}

Status LdapSource::SearchDirectory(const std::string& filter, long timeout_ms,
                                   LdapSearchResult* out) const {
  const SteadyTime deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  LdapOptions o = options_;
  o.timeout_ms = static_cast<int>(timeout_ms);  // what failure messages report
  for (int attempt = 0;; ++attempt) {
    *out = LdapSearchResult();
    LdapPtr ld = attempt == 0 ? pool_->Take() : nullptr;
    const bool reused = ld != nullptr;
    if (!ld) {
      std::string errors;
      for (const std::string& uri : options_.uris) {
        if (RemainingMs(deadline) <= 0) break;
        LdapError e = Connect(o, password_, uri, deadline, &ld);
        if (e.code == 0) break;
        errors += (errors.empty() ? "" : "; ") + e.status.message();
      }
      if (!ld) {
        if (errors.empty()) errors = "no answer within the deadline";
        return Status::Io("ldap: " + errors);
      }
    }
    LdapError e = SearchOn(ld.get(), o, filter, deadline, out);
    if (e.code == 0) {
      pool_->Give(std::move(ld));
      return Status::Ok();
    }
    // A refusal by the server leaves the connection usable.
    if (e.code > 0 && !ConnectionLost(e.code)) pool_->Give(std::move(ld));
    // A pooled connection the server has closed meanwhile: once more, fresh.
    if (reused && ConnectionLost(e.code) && RemainingMs(deadline) > 0) continue;
    return Status::Io("ldap: " + e.status.message());
  }
}

Status LdapSource::Find(const std::string& address, const Deadline& deadline,
                        std::vector<CertCandidate>* out) const {
  return Lookup(address, out, nullptr, deadline);
}

Status LdapSource::Lookup(const std::string& address, std::vector<CertCandidate>* out,
                          LdapLookupInfo* info, const Deadline& deadline) const {
  LdapLookupInfo scratch;
  if (!info) info = &scratch;
  *info = LdapLookupInfo();
  // The directory is asked for the A-label domain, the only form the
  // standard mail attribute (IA5String, RFC 4524) can hold; the local part
  // goes as given (the attribute matches case-insensitively, custom filters
  // may not). The cache keys on the one address form.
  const std::string query = WithDomainForm(address);
  const std::string key = AddressForm(address);
  std::vector<LdapResultCache::Cert> certs;
  auto emit = [&] {
    for (LdapResultCache::Cert& c : certs) {
      CertCandidate cand;
      cand.cert = std::move(c.cert);
      cand.trust = CertTrust::kDirectory;
      cand.source = "ldap";
      cand.origin = "ldap: " + c.dn;
      cand.seen = c.seen;
      out->push_back(std::move(cand));
    }
  };
  if (address.empty() || address.size() > 320)
    return Status::InvalidInput("ldap: not an address: '" + address + "'");
  const std::time_t now = clock_->Now();
  if (cache_.Get(key, now, &certs)) {
    info->cached = true;
    ++(certs.empty() ? negative_hits_ : cache_hits_);
    emit();
    return Status::Ok();
  }
  if (deadline.expired()) {  // no lookup starts after the step's deadline
    ++failures_;
    return Status::Io("ldap: deadline reached: directory not asked");
  }
  const bool use_breaker = options_.breaker_cooldown > 0;
  if (use_breaker && !breaker_.Allow("directory", now)) {
    ++failures_;
    ++breaker_refusals_;
    return Status::Io("ldap: directory unavailable (failed " +
                      std::to_string(options_.breaker_threshold) +
                      " times in a row); not asked again for " +
                      std::to_string(options_.breaker_cooldown) + " s");
  }
  ++searches_;
  LdapSearchResult result;
  const std::string filter = BuildLdapFilter(options_.filter, query);
  const long timeout_ms = deadline.Cap(options_.timeout_ms);
  // Latency by the monotonic clock (clock_ may be a test's fixed one).
  const auto started = std::chrono::steady_clock::now();
  Status st =
      search_ ? search_(filter, timeout_ms, &result) : SearchDirectory(filter, timeout_ms, &result);
  const uint64_t us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - started)
                                                .count());
  for (size_t i = 0; i < kLdapLatencyBucketCount; ++i)
    if (us <= static_cast<uint64_t>(kLdapLatencyBuckets[i] * 1e6)) ++latency_le_[i];
  ++latency_count_;
  latency_sum_us_ += us;
  if (!st.ok()) {
    ++failures_;
    // Failed once the deadline has passed: it waited only what was left of
    // it, so the deadline ended it and the directory is not blamed.
    if (deadline.expired()) {
      std::string why = st.message();
      if (why.compare(0, 6, "ldap: ") == 0) why.erase(0, 6);
      return Status::Io("ldap: deadline reached: " + why);
    }
    if (use_breaker) breaker_.Failure("directory", clock_->Now());
    return st;
  }
  if (use_breaker) breaker_.Success("directory");
  info->truncated = result.truncated;
  if (result.truncated)
    info->notes.push_back("size limit of " + std::to_string(options_.size_limit) +
                          " entries reached: more entries match " + filter);
  const std::time_t seen = clock_->Now();
  for (const LdapEntry& entry : result.entries) {
    int n = 0;
    std::string last_attr;
    for (const auto& [attr, value] : entry.values) {
      n = attr == last_attr ? n + 1 : 1;
      last_attr = attr;
      std::vector<X509Ptr> decoded;
      Status d = DecodeLdapCertificates(value, &decoded);
      if (!d.ok()) {
        ++malformed_;
        info->notes.push_back(entry.dn + ": " + attr + ": value " + std::to_string(n) +
                              " skipped: " + d.message());
        continue;
      }
      for (X509Ptr& c : decoded) {
        bool dup = false;
        for (const LdapResultCache::Cert& have : certs)
          dup = dup || X509_cmp(have.cert.get(), c.get()) == 0;
        if (!dup) certs.push_back({std::move(c), entry.dn, seen});
      }
    }
  }
  const int ttl = certs.empty() ? options_.negative_cache_ttl : options_.cache_ttl;
  if (ttl > 0) cache_.Put(key, certs, seen + ttl, seen);
  emit();
  return Status::Ok();
}

LdapStats LdapSource::Stats() const {
  LdapStats s;
  s.searches = searches_.load();
  s.cache_hits = cache_hits_.load();
  s.negative_hits = negative_hits_.load();
  s.failures = failures_.load();
  s.malformed_values = malformed_.load();
  for (size_t i = 0; i < kLdapLatencyBucketCount; ++i) s.latency_le[i] = latency_le_[i].load();
  s.latency_count = latency_count_.load();
  s.latency_sum_seconds = static_cast<double>(latency_sum_us_.load()) / 1e6;
  s.breakers_open = breaker_.Stats(clock_->Now()).open;
  s.breaker_refusals = breaker_refusals_.load();
  return s;
}

}  // namespace smime
