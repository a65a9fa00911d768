// config/params: the parameter table. Add a parameter here and nowhere else;
// docs/parameters.md is generated from it (`smimectl config doc`).
#include "config/params.h"

#include <algorithm>

#include "base/defaults.h"

namespace smime {

namespace {
constexpr int64_t kNoMin = 0;
constexpr int64_t kNoMax = 0;

const std::vector<ParamSpec> kParams = {
    {"aia_allow_networks", ParamType::kList, "", kNoMin, kNoMax, nullptr,
     "Networks (CIDR, or single addresses) that AIA caIssuers fetches may connect to although "
     "they are not public: loopback, private (RFC 1918, unique-local fc00::/7), link-local, "
     "shared 100.64/10, multicast, unspecified and reserved addresses are refused otherwise, "
     "checked on the address actually connected after DNS resolution; an IPv4-mapped IPv6 "
     "address is judged by its IPv4 address. Empty by default: list only a CA's own "
     "server, never the networks of internal services."},
    {"aia_fetch", ParamType::kBool, "yes", kNoMin, kNoMax, nullptr,
     "Fetch a signer chain's missing issuer from the AIA caIssuers URL of the certificate "
     "whose issuer is missing, when neither the message nor our certificate store completes "
     "the path: http only, no redirects or proxy, public addresses only (aia_allow_networks), "
     "at most aia_max_size, revocation_timeout and the step's deadline, one request per "
     "message, answers cached by URL (256 URLs, one day). The fetched certificate is a path "
     "hint only, never an anchor. Takes effect only with revocation_network = yes (else only "
     "cached answers are used); no never fetches."},
    {"aia_max_size", ParamType::kSize, "64K", 1024, int64_t{1} << 20, nullptr,
     "Largest AIA caIssuers answer (a DER certificate or certs-only bundle) fetched."},
    {"allow_sha1", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Accept SHA-1 as the message digest of signatures and as the signature hash of the "
     "certificates on the signer's path; when no, such signatures get smime=policy. MD5, MD4 "
     "and MD2 are never accepted. By recipient domain: the same for recipient certificates."},
    {"authserv_id", ParamType::kString, "", kNoMin, kNoMax, nullptr,
     "authserv-id written into Authentication-Results and used to remove forged ones; empty "
     "means this host's name."},
    {"certificate_sources", ParamType::kList, "local, harvest, ldap", kNoMin, kNoMax, nullptr,
     "Where recipient certificates are looked up, in this order: local (added with smimectl "
     "cert add), harvest (from inbound signatures that verified as pass), ldap (when ldap_uri "
     "is set). The strongest usable certificate of all sources wins (highest security level of its "
     "key), the newest among equals."},
    {"certificate_store", ParamType::kString, "sqlite", kNoMin, kNoMax, nullptr,
     "Where the local and harvested certificates are kept: sqlite (state_dir/certificates.db, "
     "one host) or postgresql:CONNINFO (a libpq connection string or postgresql:// URI, one "
     "store shared by several hosts; docs/scaling.md). The password goes in libpq's passfile, "
     "never here (refused)."},
    {"certificate_store_connections", ParamType::kInt, "8", 1, 100, nullptr,
     "certificate_store = postgresql: connections each process keeps at most; a lookup waits "
     "for a free one no longer than its step's deadline. Size it to the milter threads that "
     "look up at once."},
    {"certificate_store_timeout", ParamType::kInt, "5", 1, 120, nullptr,
     "certificate_store = postgresql: seconds one connection attempt or statement may take "
     "(also the server's statement_timeout), cut to the deadline of the milter step. A "
     "database that is down or slower fails the lookup (a temporary failure where encryption "
     "is required) and skips harvesting; reconnection waits 1 s, doubling to 30 s."},
    {"crl_files", ParamType::kList, "", kNoMin, kNoMax, nullptr,
     "Local CRL files (DER or PEM) consulted for revocation besides the distribution points."},
    {"decrypt", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Decryption of inbound mail to this recipient domain (docs/decryption.md): when yes, a "
     "message that is as a whole one EnvelopedData or AuthEnvelopedData is decrypted when "
     "every envelope recipient of the transaction is in a domain with decrypt = yes and has "
     "a key in decryption_keys that the message is encrypted to; otherwise, or when "
     "decryption fails, it is delivered untouched with the reason in Authentication-Results "
     "and the log."},
    {"decrypt_unauthenticated", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "By recipient domain: deliver decrypted AES-CBC (or 3DES) EnvelopedData, which has no "
     "integrity protection, even when it carries no inner signature that passes. With no "
     "(the default) such mail stays encrypted (reason unauthenticated-cbc), since an "
     "attacker can alter CBC ciphertext undetected (EFAIL); AuthEnvelopedData (GCM) is "
     "always delivered decrypted. Every recipient's domain must allow it."},
    {"decryption_keys", ParamType::kPath, SMIME_CONFDIR "/decryption-keys", kNoMin, kNoMax, nullptr,
     "File of our users' decryption keys, one per line, in the format of "
     "signing_identities: ADDRESS or @DOMAIN, certificate file, key file or pkcs11: URI, "
     "options passphrase_file=FILE or pkcs11_module=FILE and pin_file=FILE. An address may "
     "have several lines (earlier certificates keep opening old mail). Keys and PIN files "
     "must not be group- or world-accessible. A missing file means no keys unless the "
     "parameter is set explicitly."},
    {"dns_resolver", ParamType::kList, "", kNoMin, kNoMax, nullptr,
     "Resolvers for DANE SMIMEA lookups (docs/dane.md), ADDR or ADDR@PORT (numeric IPv4/IPv6), "
     "asked in turn; the answers are validated here with dnssec_trust_anchor. Empty: the "
     "system's resolvers (/etc/resolv.conf)."},
    {"dns_timeout", ParamType::kInt, "5", 1, 120, nullptr,
     "Timeout in seconds for one DANE SMIMEA lookup; a resolver that is down or slower gives a "
     "temporary failure (451 at RCPT for a domain with encrypt = required). The lookup also "
     "ends at the deadline of the milter step that makes it."},
    {"dnssec_trust_anchor", ParamType::kPath, "/usr/share/dns/root.key", kNoMin, kNoMax, nullptr,
     "DNSSEC trust anchor for DANE SMIMEA lookups: DS or DNSKEY records in zone-file format "
     "(Debian dns-root-data's root key by default). Only answers that validate from it are "
     "used."},
    {"encrypt", ParamType::kEnum, "never", kNoMin, kNoMax, "never|opportunistic|required",
     "Encryption of mail to the recipient domain, in every direction (outbound, inbound, "
     "sendmail command): never, opportunistic (encrypt when every recipient of the message has "
     "a usable certificate, else send in clear) or required (never in clear: a recipient "
     "without a usable certificate is refused at RCPT time per missing_certificate)."},
    {"encryption_algorithm", ParamType::kEnum, "auto", kNoMin, kNoMax,
     "auto|aes256-gcm|aes128-gcm|aes256-cbc|aes192-cbc|aes128-cbc",
     "Content encryption for mail to this recipient domain: auto picks the strongest cipher "
     "every recipient of the message announced in SMIMECapabilities (RFC 8551 2.7.1): "
     "AES-256-GCM (AuthEnvelopedData) when all announced it, else the strongest of "
     "AES-256-CBC, AES-192-CBC, AES-128-CBC all announced; a recipient that announced "
     "nothing counts as AES-256-CBC, and so does a message whose recipients share no cipher. "
     "A fixed cipher is what this domain's recipients accept. One message is encrypted once, "
     "for all its recipients, never below encryption_min_algorithm."},
    {"encryption_min_algorithm", ParamType::kEnum, "aes128-cbc", kNoMin, kNoMax,
     "aes128-cbc|aes192-cbc|aes256-cbc",
     "Weakest content cipher a message to this recipient domain may get: a weaker common "
     "choice is raised to this one (CBC), even if a recipient did not announce it."},
    {"encryption_min_trust", ParamType::kEnum, "harvested", kNoMin, kNoMax,
     "harvested|directory|dane|admin",
     "Least trusted certificate source accepted for this recipient domain: harvested (seen "
     "on a verified inbound signature), directory (LDAP), dane (a DNSSEC-validated SMIMEA "
     "record, docs/dane.md) or admin (smimectl cert add)."},
    {"encryption_rsa_padding", ParamType::kEnum, "pkcs1", kNoMin, kNoMax, "pkcs1|oaep",
     "RSA key transport for this recipient domain: pkcs1 (PKCS#1 v1.5, every client) or "
     "oaep (RSAES-OAEP with SHA-256)."},
    {"eom_deadline", ParamType::kInt, "240", 1, 3600, nullptr,
     "Seconds the end-of-data step may spend waiting on the network in all (revocation of "
     "every signer's chain, OCSP then CRL, recipient certificate lookups); each fetch waits "
     "at most what is left, none starts after it, and what it cuts short counts as revocation "
     "status unknown or certificate directory unavailable (temporary). Keep it below the "
     "MTA's end-of-data timeout: Postfix milter_content_timeout (300 s), Sendmail T=E (5m); "
     "the rest is left for signing and encrypting the message."},
    {"harvest_certificates", ParamType::kBool, "yes", kNoMin, kNoMax, nullptr,
     "Store the signer certificate and SMIMECapabilities of every inbound signature that "
     "verified as pass (in state_dir/certificates.db), so replies can be encrypted."},
    {"header_protection", ParamType::kEnum, "none", kNoMin, kNoMax, "none|clear|cipher",
     "Header Protection (RFC 9788) of mail we sign or encrypt for this recipient domain: none; "
     "clear (copies of every header field the author wrote, From, To, Cc, Subject, Date, "
     "Message-ID and the others, never Bcc or trace fields, go inside the signed entity, marked "
     "hp=\"clear\", or inside the encryption, marked hp=\"cipher\" with HP-Outer lines, the "
     "outer header unchanged); cipher (the same, and encrypted mail hides the outer Subject "
     "behind header_protection_subject and drops Keywords and Comments, RFC 9788 hcp_baseline; "
     "a text/plain body then starts with the real Subject, the Legacy Display Element). A "
     "message gets the lowest level among its recipients' domains. "
     "Readers that do not know RFC 9788 show the outer header, so cipher only where the "
     "readers render the protected Subject (docs/header-protection.md)."},
    {"header_protection_subject", ParamType::kString, "[...]", kNoMin, kNoMax, nullptr,
     "The outer Subject of mail encrypted with header_protection = cipher (printable ASCII; "
     "RFC 9788 hcp_baseline uses [...], and any other value tells observers which gateway sent "
     "the mail). The real Subject travels inside the encryption."},
    {"identity_expiry_warning", ParamType::kInt, "30", 1, 3650, nullptr,
     "Days before a signing identity, a trust anchor or a recipient certificate added with "
     "smimectl cert add expires from which a warning is logged at start-up, on reload and "
     "once a day (every stored recipient certificate: smimectl cert list --expiring DAYS)."},
    {"internal_error_action", ParamType::kEnum, "tempfail", kNoMin, kNoMax, "tempfail|accept",
     "What the milter answers when the filter itself fails (a bug, out of memory): tempfail "
     "(451 4.3.0, the MTA retries) or accept (pass the message on unfiltered, unsigned and "
     "unencrypted: the failure poisons the message, its headers are still read, and at end of "
     "data forged verdicts with our authserv-id are removed and inbound mail gets smime=temperror "
     "reason=internal-error; only a failure before the message (at connect) or of these edits "
     "themselves passes it on unchanged). Refused when any domain encrypts."},
    {"internal_hosts", ParamType::kList, "127.0.0.0/8, ::1/128", kNoMin, kNoMax, nullptr,
     "Client networks (CIDR) whose mail is outbound. An IPv4-mapped client address "
     "(::ffff:a.b.c.d, from a dual-stack listener) is in the IPv4 networks that hold a.b.c.d."},
    {"ldap_attributes", ParamType::kList, "userCertificate;binary, userSMIMECertificate", kNoMin,
     kNoMax, nullptr,
     "LDAP attributes holding recipient certificates: a DER certificate (userCertificate;binary) "
     "or a PKCS#7 certs-only blob (userSMIMECertificate); values that are neither are skipped."},
    {"ldap_base", ParamType::kString, "", kNoMin, kNoMax, nullptr,
     "Search base DN of LDAP certificate lookups (subtree), e.g. ou=people,dc=example,dc=com; "
     "required with ldap_uri."},
    {"ldap_bind_dn", ParamType::kString, "", kNoMin, kNoMax, nullptr,
     "DN to bind as for LDAP lookups (simple bind, with ldap_bind_password_file); empty binds "
     "anonymously."},
    {"ldap_bind_password_file", ParamType::kPath, "", kNoMin, kNoMax, nullptr,
     "File whose first line is the password of ldap_bind_dn; must not be group- or "
     "world-accessible."},
    {"ldap_cache_size", ParamType::kInt, "10000", 0, 10000000, nullptr,
     "Most addresses whose LDAP answers are cached (least recently used go first); 0 turns the "
     "cache off."},
    {"ldap_cache_ttl", ParamType::kInt, "3600", 0, 604800, nullptr,
     "Seconds an LDAP answer with certificates is reused before the directory is asked again; "
     "0 does not cache them."},
    {"ldap_filter", ParamType::kString, "(mail=%s)", kNoMin, kNoMax, nullptr,
     "LDAP search filter; every %s is replaced by the recipient address, escaped per RFC 4515 "
     "(e.g. (&(objectClass=inetOrgPerson)(mail=%s)))."},
    {"ldap_negative_cache_ttl", ParamType::kInt, "300", 0, 86400, nullptr,
     "Seconds an LDAP answer without certificates is reused; 0 does not cache it. Failures "
     "(directory down, deadline) are never cached."},
    {"ldap_starttls", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Use StartTLS on ldap:// URIs (certificate checks per ldap.conf, e.g. TLS_CACERT); "
     "ldaps:// URIs use TLS anyway."},
    {"ldap_timeout", ParamType::kInt, "5", 1, 120, nullptr,
     "Timeout in seconds for one LDAP lookup (connect, StartTLS, bind and search); a "
     "directory that is down or slower gives a temporary failure. The lookup also ends at the "
     "deadline of the milter step that makes it (rcpt_deadline, eom_deadline)."},
    {"ldap_uri", ParamType::kList, "", kNoMin, kNoMax, nullptr,
     "LDAP servers for recipient certificates (ldap://HOST[:PORT], ldaps://, ldapi://), tried "
     "in order; empty turns LDAP lookups off."},
    {"local_part_case_sensitive", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Compare the local part of From: with the certificate address case-sensitively."},
    {"log_why", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Log why a message was taken as inbound or outbound."},
    {"match_sender_header", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Match the signer against Sender: instead of From: when Sender: is present."},
    {"max_message_size", ParamType::kSize, "50M", 1024, int64_t{1} << 30, nullptr,
     "Largest message examined; a larger one gets smime=permerror (inbound) and is passed "
     "on. At most 1G: OpenSSL's CMS functions take int lengths."},
    {"max_mime_depth", ParamType::kInt, "20", 1, 1000, nullptr,
     "Deepest MIME nesting examined; deeper messages get smime=permerror."},
    {"max_mime_parts", ParamType::kInt, "1000", 1, 100000, nullptr,
     "Most MIME parts examined; more give smime=permerror."},
    {"max_signers", ParamType::kInt, "4", 1, 64, nullptr,
     "Most SignerInfos in one signature; more give smime=permerror."},
    {"metrics_file", ParamType::kPath, "", kNoMin, kNoMax, nullptr,
     "File the daemon writes its counters to every metrics_interval seconds, atomically, in "
     "the Prometheus text format (for node_exporter's textfile collector, e.g. "
     "/var/lib/prometheus/node-exporter/smime-milter.prom; the folder must be writable by "
     "user); smimectl status shows it. Empty: no file."},
    {"metrics_interval", ParamType::kInt, "60", 5, 3600, nullptr,
     "Seconds between two writes of metrics_file."},
    {"min_rsa_bits", ParamType::kInt, "2048", 1024, 16384, nullptr,
     "Smallest RSA key (RSASSA-PSS included) accepted on the signer's path: the leaf, every "
     "intermediate and the anchor's key; smaller keys give smime=policy. By recipient domain: "
     "the same for recipient certificates (a smaller one is not used)."},
    {"missing_certificate", ParamType::kEnum, "reject", kNoMin, kNoMax, "reject|tempfail",
     "For encrypt = required: a recipient without a usable certificate is refused at RCPT "
     "time with 550 5.7.1 (reject) or 450 4.7.1 (tempfail, e.g. while certificates are being "
     "collected)."},
    {"ocsp_max_age", ParamType::kInt, "3600", 60, 604800, nullptr,
     "Seconds after its thisUpdate that an OCSP answer without nextUpdate is used (and "
     "cached); an older one counts as no answer. Such a responder promises fresh data on "
     "every request, and without ocsp_nonce this limit is what stops a recorded good "
     "answer from being replayed after a revocation."},
    {"ocsp_nonce", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Send a nonce in OCSP requests and require it back (many responders ignore nonces)."},
    {"originating_daemons", ParamType::kList, "ORIGINATING", kNoMin, kNoMax, nullptr,
     "Values of the {daemon_name} macro (Postfix milter_macro_daemon_name) whose mail is "
     "outbound (signed). Mail from the sendmail command (Postfix pickup) carries the "
     "milter_macro_daemon_name of the cleanup service it goes through."},
    {"pid_file", ParamType::kPath, "", kNoMin, kNoMax, nullptr,
     "File the daemon writes its process id to once it runs as user (atomically; removed "
     "when it stops), with PID_FILE.reload beside it: the generation and result of the last "
     "reload, which smimectl reload waits for. Empty: state_dir/smime-milter.pid."},
    {"policy_dir", ParamType::kPath, SMIME_CONFDIR "/policies", kNoMin, kNoMax, nullptr,
     "Folder of per-domain policy files: DOMAIN.conf and default.conf, in this file's "
     "syntax, setting per-domain parameters (see smimectl policy explain). A missing "
     "folder means no policies unless policy_dir is set explicitly."},
    {"rcpt_deadline", ParamType::kInt, "20", 1, 600, nullptr,
     "Seconds one RCPT may spend waiting on the network in all (certificate sources such as "
     "LDAP, revocation of the chosen certificate's chain, the next certificate when it is "
     "revoked); each lookup or fetch waits at most what is left and none starts after it. "
     "A recipient of an encrypt = required domain whose lookup it cuts short gets 451 4.7.1. "
     "Keep it below the MTA's per-command timeout: Postfix milter_command_timeout (30 s), "
     "Sendmail T=R (10 s by default: raise it; docs/verification.md, Deadlines)."},
    {"recipient_signing", ParamType::kEnum, "any", kNoMin, kNoMax, "any|opaque",
     "For mail to this recipient domain: opaque makes signed mail use opaque signing "
     "(application/pkcs7-mime), for partners behind gateways that rewrite mail and break "
     "clear signatures; any keeps the sender domain's choice."},
    {"revocation", ParamType::kEnum, "hard", kNoMin, kNoMax, "hard|soft|off",
     "Revocation checking of signer chains: hard (status unknown gives smime=temperror, no "
     "revocation source at all gives smime=policy), soft (the verdict stands; the header "
     "comment and log say the status was unknown) or off (not checked; the log says so)."},
    {"revocation_breaker_cooldown", ParamType::kInt, "60", 1, 86400, nullptr,
     "Seconds a failing OCSP responder or CRL server is left alone before it is tried again."},
    {"revocation_breaker_threshold", ParamType::kInt, "3", 1, 1000, nullptr,
     "Consecutive failures of one responder URL that open its circuit breaker."},
    {"revocation_max_response_size", ParamType::kSize, "4M", 1024, int64_t{256} << 20, nullptr,
     "Largest OCSP response or CRL fetched."},
    {"revocation_network", ParamType::kBool, "yes", kNoMin, kNoMax, nullptr,
     "Fetch OCSP answers and CRLs over the network; no uses only crl_files, the CRL cache and "
     "CRLs carried in messages (status of certificates that publish only online sources is "
     "then unavailable)."},
    {"revocation_order", ParamType::kList, "ocsp, crl", kNoMin, kNoMax, nullptr,
     "Revocation methods in the order asked: ocsp, crl, or both; the next is asked when one "
     "gives no definite answer."},
    {"revocation_timeout", ParamType::kInt, "5", 1, 120, nullptr,
     "Timeout in seconds for one OCSP or CRL fetch; it also ends at the deadline of the milter "
     "step that makes it (rcpt_deadline, eom_deadline)."},
    {"sign", ParamType::kEnum, "none", kNoMin, kNoMax, "none|clear|opaque|if-possible",
     "Signing of outbound mail, keyed by the From: domain: none, clear (multipart/signed), "
     "opaque (application/pkcs7-mime) or if-possible (clear when the sender has a usable "
     "identity and may use it, else unsigned). With clear or opaque, mail that cannot be "
     "signed (no identity, expired or revoked identity) is deferred with 451 4.7.0."},
    {"signing_digest", ParamType::kEnum, "sha256", kNoMin, kNoMax, "sha256|sha384|sha512",
     "Message digest of outbound signatures."},
    {"signing_identities", ParamType::kPath, SMIME_CONFDIR "/identities", kNoMin, kNoMax, nullptr,
     "File of signing identities, one per line: ADDRESS or @DOMAIN, certificate file (signer "
     "first, then chain), key file, options chain=FILE, passphrase_file=FILE and "
     "encryption_cert=FILE (a separate encryption certificate of the user, carried in "
     "signatures and named in their SMIMEEncryptionKeyPreference). A key on a "
     "PKCS#11 token (HSM, smart card, SoftHSM2) is named by a pkcs11: URI instead of the key "
     "file (pkcs11:token=LABEL;object=LABEL) with options pkcs11_module=FILE (the token's "
     "PKCS#11 library) and pin_file=FILE (its user PIN); this needs the OpenSSL engine of "
     "libp11 (Debian: libengine-pkcs11-openssl). Keys and PIN files must not be group- or "
     "world-accessible. A missing file means no identities unless the parameter is set "
     "explicitly."},
    {"signing_relays", ParamType::kList, "", kNoMin, kNoMax, nullptr,
     "Client networks (CIDR) of trusted relays whose mail, arriving without SMTP AUTH, may be "
     "signed as any From: that has an identity (e.g. a groupware server that authenticates "
     "its users itself). Empty by default, and loopback is never implied: list managers, "
     "scripts and re-injected mail also come from 127.0.0.1. Everyone else signs only as "
     "the addresses signing_users maps to their login. An IPv4-mapped client address "
     "(::ffff:a.b.c.d) is in the IPv4 networks that hold a.b.c.d."},
    {"signing_rsa_padding", ParamType::kEnum, "pkcs1", kNoMin, kNoMax, "pkcs1|pss",
     "RSA signature scheme of outbound signatures: pkcs1 (PKCS#1 v1.5, what every client "
     "verifies) or pss (RSASSA-PSS)."},
    {"signing_users", ParamType::kPath, SMIME_CONFDIR "/signing-users", kNoMin, kNoMax, nullptr,
     "File mapping SMTP AUTH logins to the From: addresses they may have signed: LOGIN "
     "followed by addresses or @DOMAIN entries. A missing file means no login may sign "
     "unless the parameter is set explicitly."},
    {"smimea", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "Look up recipient certificates of this recipient domain in DANE SMIMEA records (RFC "
     "8162, docs/dane.md); only DNSSEC-validated answers are used."},
    {"smimea_verify", ParamType::kBool, "no", kNoMin, kNoMax, nullptr,
     "By sender domain: an inbound signature whose certificate has no path to a trust anchor "
     "passes when a DNSSEC-validated DANE-EE SMIMEA record of the From: address matches it "
     "(docs/dane.md); Authentication-Results then says the binding came from DANE. Every other "
     "rule (validity, key usage, algorithms) still applies."},
    {"socket", ParamType::kString, "unix:/run/smime-milter/smime-milter.sock", kNoMin, kNoMax,
     nullptr,
     "Where the milter listens, in MTA notation: unix:/path, local:/path, inet:PORT@HOST, "
     "inet6:PORT@HOST."},
    {"socket_mode", ParamType::kString, "0660", kNoMin, kNoMax, nullptr,
     "Permissions (octal) of a unix socket; its group is the service user's group, so add "
     "the MTA's user (postfix) to that group."},
    {"spool_memory_limit", ParamType::kSize, "1M", 0, int64_t{1} << 30, nullptr,
     "Bodies up to this size stay in memory; larger ones are spooled to a private unlinked "
     "file under state_dir: the body being received, and the new body (and an envelope's "
     "ciphertext) that signing or encryption writes, copied out to the MTA in 64 KB slices. "
     "At end of data the received body is read into memory: signing or encrypting it peaks "
     "at about 1.1 times its size, verifying at about 2.6 (max_message_size bounds that; "
     "docs/performance.md)."},
    {"state_dir", ParamType::kPath, SMIME_STATEDIR, kNoMin, kNoMax, nullptr,
     "Folder for the certificate store (certificates.db), the CRL and OCSP caches (crl/, "
     "ocsp/) and spooled message bodies; owned by the service user, mode 0700, never "
     "world-writable without the sticky bit (refused). Files in it are created mode 0600; a "
     "symbolic link, a hard link or another account's file there is refused, also when root "
     "runs smime-milter -n or smimectl (docs/SECURITY.md)."},
    {"trust_anchors", ParamType::kPath, SMIME_CONFDIR "/trust-anchors.pem", kNoMin, kNoMax, nullptr,
     "S/MIME trust anchors: a PEM file or a folder of PEM files. The system TLS bundle is "
     "never used unless named here."},
    {"unauthorized_sender", ParamType::kEnum, "tempfail", kNoMin, kNoMax,
     "tempfail|reject|unsigned",
     "What happens to outbound mail whose From: the submitter may not sign as (see "
     "signing_users, signing_relays) when sign is clear or opaque: tempfail (451 4.7.1), "
     "reject (550 5.7.1) or unsigned (passed on unsigned and logged). With sign = "
     "if-possible such mail is passed on unsigned."},
    {"user", ParamType::kString, "smime-milter", kNoMin, kNoMax, nullptr,
     "Account the daemon runs as after opening its socket and keys; it never serves as root."},
};
}  // namespace

const std::vector<ParamSpec>& ParamTable() { return kParams; }

const ParamSpec* FindParam(const std::string& name) {
  auto it = std::find_if(kParams.begin(), kParams.end(),
                         [&](const ParamSpec& p) { return name == p.name; });
  return it == kParams.end() ? nullptr : &*it;
}

bool ParamAllowedInPolicy(const std::string& name) {
  // Rules about a sender's or recipient's domain; everything about the daemon
  // itself (socket, user, state_dir, limits) is global.
  static const char* const kPerDomain[] = {"allow_sha1",
                                           "decrypt",
                                           "decrypt_unauthenticated",
                                           "encrypt",
                                           "encryption_algorithm",
                                           "encryption_min_algorithm",
                                           "encryption_min_trust",
                                           "encryption_rsa_padding",
                                           "local_part_case_sensitive",
                                           "match_sender_header",
                                           "min_rsa_bits",
                                           "missing_certificate",
                                           "recipient_signing",
                                           "revocation",
                                           "sign",
                                           "signing_digest",
                                           "smimea",
                                           "smimea_verify",
                                           "signing_rsa_padding",
                                           "unauthorized_sender"};
  for (const char* n : kPerDomain)
    if (name == n) return true;
  return name == "header_protection";  // RFC 9788, by recipient domain
}

const char* ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kString: return "string";
    case ParamType::kPath: return "path";
    case ParamType::kBool: return "yes|no";
    case ParamType::kInt: return "integer";
    case ParamType::kSize: return "size";
    case ParamType::kEnum: return "choice";
    case ParamType::kList: return "list";
  }
  return "?";
}

}  // namespace smime
