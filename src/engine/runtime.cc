// engine/runtime: see runtime.h.
#include "engine/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "certdir/cert_store_open.h"
#include "certdir/ldap_source.h"
#include "certdir/smimea_source.h"
#include "mime/header_protection.h"
#include "mime/rcpt_address.h"
#include "trust/online_revocation.h"

namespace smime {

Status RevocationOptionsFromConfig(const Config& config, RevocationOptions* ro) {
  ro->order = config.List("revocation_order");
  if (ro->order.empty())
    return Status::Config(config.Get("revocation_order").origin +
                          ": revocation_order: name at least one of ocsp, crl");
  for (const std::string& m : ro->order)
    if (m != "ocsp" && m != "crl")
      return Status::Config(config.Get("revocation_order").origin + ": revocation_order: '" + m +
                            "' is not ocsp or crl");
  ro->timeout_ms = config.Int("revocation_timeout") * 1000;
  ro->max_size = static_cast<size_t>(config.Int("revocation_max_response_size"));
  ro->nonce = config.Bool("ocsp_nonce");
  ro->ocsp_max_age = static_cast<long>(config.Int("ocsp_max_age"));
  ro->state_dir = config.Str("state_dir");
  ro->breaker_threshold = static_cast<int>(config.Int("revocation_breaker_threshold"));
  ro->breaker_cooldown = static_cast<int>(config.Int("revocation_breaker_cooldown"));
  ro->crl_files = config.List("crl_files");
  ro->network = config.Bool("revocation_network");
  return Status::Ok();
}

const char* SignModeName(SignMode m) {
  switch (m) {
    case SignMode::kNone: return "none";
    case SignMode::kClear: return "clear";
    case SignMode::kOpaque: return "opaque";
    case SignMode::kIfPossible: return "if-possible";
  }
  return "?";
}

DomainRules RulesFromConfig(const Config& config) {
  DomainRules r;
  r.allow_sha1 = config.Bool("allow_sha1");
  r.min_rsa_bits = static_cast<int>(config.Int("min_rsa_bits"));
  r.local_part_case_sensitive = config.Bool("local_part_case_sensitive");
  r.match_sender_header = config.Bool("match_sender_header");
  const std::string mode = config.Str("revocation");
  r.revocation_mode = mode == "off"    ? RevocationMode::kOff
                      : mode == "soft" ? RevocationMode::kSoft
                                       : RevocationMode::kHard;
  const std::string sign = config.Str("sign");
  r.sign = sign == "clear"         ? SignMode::kClear
           : sign == "opaque"      ? SignMode::kOpaque
           : sign == "if-possible" ? SignMode::kIfPossible
                                   : SignMode::kNone;
  r.recipient_opaque = config.Str("recipient_signing") == "opaque";
  r.signing_digest = config.Str("signing_digest");
  r.rsa_padding =
      config.Str("signing_rsa_padding") == "pss" ? RsaPadding::kPss : RsaPadding::kPkcs1;
  const std::string enc = config.Str("encrypt");
  r.encrypt = enc == "required"        ? EncryptMode::kRequired
              : enc == "opportunistic" ? EncryptMode::kOpportunistic
                                       : EncryptMode::kNever;
  r.missing_certificate_reject = config.Str("missing_certificate") == "reject";
  r.cipher_auto = config.Str("encryption_algorithm") == "auto";
  if (!r.cipher_auto) ParseContentCipher(config.Str("encryption_algorithm"), &r.cipher);
  ParseContentCipher(config.Str("encryption_min_algorithm"), &r.min_cipher);
  r.rsa_transport = config.Str("encryption_rsa_padding") == "oaep" ? RsaKeyTransport::kOaep
                                                                   : RsaKeyTransport::kPkcs1;
  ParseCertTrust(config.Str("encryption_min_trust"), &r.min_trust);
  r.decrypt = config.Bool("decrypt");
  r.smimea = config.Bool("smimea");
  r.smimea_verify = config.Bool("smimea_verify");
  r.decrypt_unauthenticated = config.Bool("decrypt_unauthenticated");
  const std::string ua = config.Str("unauthorized_sender");
  r.unauthorized = ua == "reject"     ? UnauthorizedAction::kReject
                   : ua == "unsigned" ? UnauthorizedAction::kUnsigned
                                      : UnauthorizedAction::kTempFail;
  ParseHpMode(config.Str("header_protection"), &r.header_protection);
  return r;
}

const DomainRules& Runtime::RulesFor(const std::string& domain) const {
  if (domain_rules.empty()) return rules;
  for (std::string d = DomainForm(domain); !d.empty();) {
    auto it = domain_rules.find(d);
    if (it != domain_rules.end()) return it->second;
    size_t dot = d.find('.');
    d = dot == std::string::npos ? "" : d.substr(dot + 1);
  }
  return rules;
}

namespace {

// The MTA's defaults for how long it waits on one milter reply: Postfix
// milter_command_timeout (RCPT) and milter_content_timeout (end of data).
constexpr int64_t kPostfixCommandTimeout = 30;
constexpr int64_t kPostfixContentTimeout = 300;

// Warnings for waits that cannot fit: a step deadline the MTA does not wait
// for, or one fetch timeout longer than the deadline of a step that makes
// that fetch (it is then cut at the deadline). ldap/revocation/encryption:
// whether LDAP lookups, revocation checks and encryption are on.
void DeadlineWarnings(const Config& config, bool ldap, bool revocation, bool encryption,
                      std::vector<std::string>* out) {
  const int64_t rcpt = config.Int("rcpt_deadline"), eom = config.Int("eom_deadline");
  if (rcpt >= kPostfixCommandTimeout)
    out->push_back(config.Get("rcpt_deadline").origin + ": rcpt_deadline = " +
                   std::to_string(rcpt) + " s is not below Postfix's milter_command_timeout (" +
                   std::to_string(kPostfixCommandTimeout) +
                   " s by default): the MTA may give up on a RCPT before the filter answers; "
                   "lower rcpt_deadline or raise milter_command_timeout above it");
  if (eom >= kPostfixContentTimeout)
    out->push_back(config.Get("eom_deadline").origin + ": eom_deadline = " + std::to_string(eom) +
                   " s is not below Postfix's milter_content_timeout (" +
                   std::to_string(kPostfixContentTimeout) +
                   " s by default): the MTA may give up on a message before the filter "
                   "answers; lower eom_deadline or raise milter_content_timeout above it");
  auto longer = [&](const char* timeout, const char* step) {
    const int64_t t = config.Int(timeout), d = config.Int(step);
    if (t <= d) return;
    std::string origin = config.Get(timeout).origin;
    if (origin == "default") origin = config.Get(step).origin;
    out->push_back(origin + ": " + timeout + " = " + std::to_string(t) + " s is longer than " +
                   step + " = " + std::to_string(d) + " s: such a wait is cut at the deadline");
  };
  if (ldap && encryption) {
    longer("ldap_timeout", "rcpt_deadline");
    longer("ldap_timeout", "eom_deadline");
  }
  if (revocation && encryption) longer("revocation_timeout", "rcpt_deadline");
  if (revocation) longer("revocation_timeout", "eom_deadline");
}

// Opens the certificate store and lines up the sources of
// certificate_sources. Without a usable store, harvesting is off; that is
// an error only when some domain encrypts.
Status BuildDirectory(const Config& config, Runtime* rt) {
  const std::string origin = config.Get("certificate_sources").origin;
  const std::string spec = config.Str("certificate_store");
  if (Status bad = CheckStoreSpec(spec); !bad.ok())
    return Status::Config(config.Get("certificate_store").origin +
                          ": certificate_store: " + bad.message());
  PgStoreOptions pg;
  pg.timeout_ms = static_cast<long>(config.Int("certificate_store_timeout")) * 1000;
  pg.pool_size = static_cast<int>(config.Int("certificate_store_connections"));
  Status st = OpenCertStore(spec, config.Str("state_dir"), pg, &rt->cert_store);
  if (!st.ok()) {
    rt->cert_store.reset();
    const char* param = spec == "sqlite" ? "state_dir" : "certificate_store";
    if (rt->any_encryption)
      return Status::Config(config.Get(param).origin + ": " + param + ": " + st.message());
    rt->warnings.push_back(st.message() + ": harvesting and the local certificate store are off");
  }
  rt->harvest = config.Bool("harvest_certificates") && rt->cert_store;
  if (rt->cert_store) rt->directory.SetChainHints(rt->cert_store);
  for (const std::string& name : config.List("certificate_sources")) {
    if (name == "local") {
      if (rt->cert_store) rt->directory.AddSource(std::make_unique<LocalCerts>(rt->cert_store));
    } else if (name == "harvest") {
      if (rt->cert_store) rt->directory.AddSource(std::make_unique<HarvestedCerts>(rt->cert_store));
    } else if (name == "ldap") {
      LdapOptions lo;
      st = LdapOptionsFromConfig(config, &lo);
      if (!st.ok()) return st;
      if (lo.uris.empty()) continue;  // ldap_uri empty: no directory
      std::unique_ptr<LdapSource> ldap;
      st = LdapSource::Create(lo, &ldap);
      if (!st.ok())
        return Status::Config(config.Get("ldap_uri").origin + ": ldap_uri: " + st.message());
      rt->ldap = ldap.get();
      rt->directory.AddSource(std::move(ldap));
    } else {
      return Status::Config(origin + ": certificate_sources: '" + name +
                            "' is not local, harvest or ldap");
    }
  }
  // DANE SMIMEA (docs/dane.md): asked last, only for domains with smimea =
  // yes; signers of domains with smimea_verify = yes ask it too.
  bool smimea = rt->rules.smimea || rt->rules.smimea_verify;
  for (const auto& d : rt->domain_rules)
    smimea = smimea || d.second.smimea || d.second.smimea_verify;
  if (smimea) {
    SmimeaOptions so;
    st = SmimeaOptionsFromConfig(config, &so);
    if (!st.ok()) return st;
    std::unique_ptr<SmimeaSource> dane;
    st = SmimeaSource::Create(so, &dane);
    if (!st.ok())
      return Status::Config(config.Get("dnssec_trust_anchor").origin + ": " + st.message());
    rt->dane = dane.get();
    rt->directory.AddSource(std::move(dane));
  }
  return Status::Ok();
}

}  // namespace

Status BuildRuntime(const Config& config, std::unique_ptr<Runtime>* out) {
  auto rt = std::make_unique<Runtime>();
  rt->config = config;
  // Repeated parameters (the last one counts) are logged with the others.
  rt->warnings = config.Warnings();
  Status socket_ok = CheckSocketSpec(config.Str("socket"));
  if (!socket_ok.ok())
    return Status::Config(config.Get("socket").origin + ": socket: " + socket_ok.message());
  rt->authserv_id = config.Str("authserv_id");
  if (rt->authserv_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
      return Status::Config("authserv_id is empty and the host name is unknown: set authserv_id");
    rt->authserv_id = host;
  }
  Status st = rt->trust.Load(config.Str("trust_anchors"));
  if (!st.ok())
    return Status::Config(config.Get("trust_anchors").origin + ": trust_anchors: " + st.message());
  st = ParseNetworks(config.List("internal_hosts"), &rt->internal_hosts);
  if (!st.ok())
    return Status::Config(config.Get("internal_hosts").origin +
                          ": internal_hosts: " + st.message());
  rt->originating_daemons = config.List("originating_daemons");
  rt->log_why = config.Bool("log_why");
  rt->hp_subject = config.Str("header_protection_subject");
  for (char c : rt->hp_subject)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return Status::Config(config.Get("header_protection_subject").origin +
                            ": header_protection_subject: printable ASCII only");
  rt->internal_error_accept = config.Str("internal_error_action") == "accept";
  rt->limits.max_depth = static_cast<int>(config.Int("max_mime_depth"));
  rt->limits.max_parts = static_cast<int>(config.Int("max_mime_parts"));
  rt->max_message_size = static_cast<size_t>(config.Int("max_message_size"));
  rt->spool_memory_limit = static_cast<size_t>(config.Int("spool_memory_limit"));
  rt->spool_dir = config.Str("state_dir");
  rt->max_signers = static_cast<int>(config.Int("max_signers"));
  rt->rcpt_deadline_ms = static_cast<long>(config.Int("rcpt_deadline")) * 1000;
  rt->eom_deadline_ms = static_cast<long>(config.Int("eom_deadline")) * 1000;
  st = PolicySet::Load(config, &rt->policies);
  if (!st.ok()) return st;
  rt->warnings.insert(rt->warnings.end(), rt->policies.Warnings().begin(),
                      rt->policies.Warnings().end());
  rt->rules = RulesFromConfig(rt->policies.ForDomain(""));
  bool any_online = rt->rules.revocation_mode != RevocationMode::kOff;
  for (const std::string& d : rt->policies.Domains()) {
    DomainRules r = RulesFromConfig(rt->policies.ForDomain(d));
    any_online = any_online || r.revocation_mode != RevocationMode::kOff;
    rt->domain_rules[d] = r;
  }
  st = SigningUsers::Load(config.Str("signing_users"),
                          config.Get("signing_users").origin != "default", &rt->signing_users);
  if (!st.ok()) return st;
  // The load signs a probe; its signingTime does not matter, so the system
  // clock is fine here.
  st = IdentityStore::Load(config.Str("signing_identities"),
                           config.Get("signing_identities").origin != "default", std::time(nullptr),
                           &rt->identities, &rt->warnings);
  if (!st.ok()) return st;
  // Our users' own encryption certificates (identities encryption_cert=)
  // answer for their addresses whatever certificate_sources says.
  auto own = std::make_unique<IdentityEncryptionCerts>(rt->identities);
  if (own->size() > 0) rt->directory.AddSource(std::move(own));
  st = ParseNetworks(config.List("signing_relays"), &rt->signing_relays);
  if (!st.ok())
    return Status::Config(config.Get("signing_relays").origin +
                          ": signing_relays: " + st.message());
  for (const char* loopback : {"127.0.0.1", "::1"})
    if (CidrContains(rt->signing_relays, loopback))
      rt->warnings.push_back(config.Get("signing_relays").origin +
                             ": signing_relays includes loopback: mail submitted on this host "
                             "without SMTP AUTH (list managers, scripts, re-injected or "
                             "non-SMTP mail) is signed as any From: that has an identity");
  rt->identity_expiry_warning_days = static_cast<int>(config.Int("identity_expiry_warning"));
  rt->any_encryption = rt->rules.encrypt != EncryptMode::kNever;
  for (const auto& [d, r] : rt->domain_rules)
    rt->any_encryption = rt->any_encryption || r.encrypt != EncryptMode::kNever;
  st =
      DecryptionKeys::Load(config.Str("decryption_keys"),
                           config.Get("decryption_keys").origin != "default", &rt->decryption_keys);
  if (!st.ok()) return st;
  rt->any_decryption = rt->rules.decrypt;
  for (const auto& [d, r] : rt->domain_rules) rt->any_decryption = rt->any_decryption || r.decrypt;
  if (rt->any_decryption && rt->decryption_keys.size() == 0)
    rt->warnings.push_back(config.Get("decryption_keys").origin +
                           ": decrypt = yes for some domain, but decryption_keys (" +
                           config.Str("decryption_keys") +
                           ") lists no key: no message will be decrypted");
  st = BuildDirectory(config, rt.get());
  if (!st.ok()) return st;
  if (rt->any_encryption && rt->internal_error_accept)
    return Status::Config(config.Get("internal_error_action").origin +
                          ": internal_error_action = accept would pass mail that must be "
                          "encrypted in clear when the filter fails; use tempfail");
  const bool ldap = !config.List("ldap_uri").empty() &&
                    std::count(config.List("certificate_sources").begin(),
                               config.List("certificate_sources").end(), "ldap") > 0;
  DeadlineWarnings(config, ldap, any_online, rt->any_encryption, &rt->warnings);
  // DANE SMIMEA lookups happen at RCPT and at end of data.
  for (const char* step : {"rcpt_deadline", "eom_deadline"})
    if (rt->dane && config.Int("dns_timeout") > config.Int(step))
      rt->warnings.push_back(config.Get("dns_timeout").origin + ": dns_timeout = " +
                             std::to_string(config.Int("dns_timeout")) + " s is longer than " +
                             step + " = " + std::to_string(config.Int(step)) +
                             " s: such a wait is cut at the deadline");
  AiaOptions aia;
  aia.enabled = config.Bool("aia_fetch");
  aia.network = config.Bool("revocation_network");
  aia.timeout_ms = config.Int("revocation_timeout") * 1000;
  aia.max_size = static_cast<size_t>(config.Int("aia_max_size"));
  aia.breaker_threshold = static_cast<int>(config.Int("revocation_breaker_threshold"));
  aia.breaker_cooldown = static_cast<int>(config.Int("revocation_breaker_cooldown"));
  st = ParseNetworks(config.List("aia_allow_networks"), &aia.allow);
  if (!st.ok())
    return Status::Config(config.Get("aia_allow_networks").origin +
                          ": aia_allow_networks: " + st.message());
  rt->aia = std::make_unique<AiaFetcher>(std::move(aia), std::make_unique<CurlFetcher>());
  if (!any_online) {
    rt->revocation = std::make_unique<NotCheckedRevocation>();
  } else {
    RevocationOptions ro;
    st = RevocationOptionsFromConfig(config, &ro);
    if (!st.ok()) return st;
    std::unique_ptr<OnlineRevocationChecker> checker;
    st = OnlineRevocationChecker::Create(ro, std::make_unique<CurlFetcher>(), &checker);
    if (!st.ok())
      return Status::Config(config.Get("crl_files").origin + ": crl_files: " + st.message());
    rt->revocation = std::move(checker);
  }
  *out = std::move(rt);
  return Status::Ok();
}

}  // namespace smime
