// mime/rcpt_address: envelope addresses and domains in the one form that
// policy, certificate lookup and the MTA agree on.
//
// Entry points:
//  - CanonicalDomain(): a domain (ASCII, A-labels or UTF-8 U-labels, one
//    trailing dot allowed) in IDNA2008 A-label lower-case form
//    ("BÜCHER.example." -> "xn--bcher-kva.example"), via libidn2. Fails
//    with a short reason for anything that is not a host name (empty
//    labels, characters other than letters, digits and hyphens, bad
//    punycode, address literals).
//  - DomainForm(): CanonicalDomain, or for text that is not a valid domain
//    its ASCII lower-case form without trailing dots (never fails; for
//    lookups, where garbage simply matches no policy file).
//  - CanonicalAddress() / AddressForm(): a mailbox ("local@domain") or a
//    "@domain" entry in the one form every store and comparison keys on:
//    local part ASCII lower-case (other bytes kept), domain by
//    CanonicalDomain. Signing identities, signing_users, the recipient
//    certificate store, LDAP lookups and the certificate-address match of
//    trust/cert_info SameMailbox all use it, so "bob@bücher.example" and
//    "bob@XN--BCHER-KVA.example." are one mailbox everywhere.
//  - ParseRcptAddress(): reduces the argument of an SMTP RCPT command (or
//    a --rcpt of smimectl) to one clean address, or refuses it. Postfix
//    (strict_rfc821_envelopes = no) strips comments and whitespace and
//    delivers "<bob@ b.example>" to bob@b.example; the milter must never
//    judge a different domain than the MTA delivers to, so whatever is not
//    a plain RFC 5321 path is refused instead of guessed at.
#ifndef SMIME_MIME_RCPT_ADDRESS_H_
#define SMIME_MIME_RCPT_ADDRESS_H_

#include <string>

namespace smime {

// Returns "" on success (*out set), else a short reason ("empty-label",
// "bad-character", "bad-idna: ...", ...).
std::string CanonicalDomain(const std::string& domain, std::string* out);

std::string DomainForm(const std::string& domain);

// address: "local@domain" (split at the last '@') or "@domain". Returns ""
// on success (*out = AsciiLower(local) + "@" + CanonicalDomain(domain)),
// else a short reason: "no-at" or the domain's (CanonicalDomain). For
// configuration files, which refuse a domain that is not a domain name.
std::string CanonicalAddress(const std::string& address, std::string* out);

// CanonicalAddress, or for text it refuses the ASCII lower-case form with
// the domain through DomainForm (never fails; for lookups and keys, where
// garbage simply matches nothing it should not).
std::string AddressForm(const std::string& address);

// address with only its domain (after the last '@') through DomainForm,
// the local part as given: what is asked of sources whose own matching
// may be case-sensitive (LDAP filters). Unchanged without an '@'.
std::string WithDomainForm(const std::string& address);

struct RcptAddress {
  std::string local;    // as it goes on the wire: dot-atom, or quoted-string when needed
  std::string domain;   // CanonicalDomain form; "" only for the bare "postmaster"
  std::string address;  // local@domain (or "postmaster")
};

// arg: "<local@domain>" (angle brackets optional). Accepted: a dot-atom or
// quoted-string local part (UTF-8 allowed), a source route "@a,@b:" (dropped,
// RFC 5321 4.1.1.3), one trailing dot on the domain, U-label domains, and
// the bare "<postmaster>" (RFC 5321 4.5.1). Refused, with a short reason:
// comments, whitespace or control characters outside quotes, more than one
// '@', an empty local part or domain, an address literal domain, the null
// path "<>", and local parts containing '%', '!' or '@' (after unquoting),
// which Postfix's percent hack, bang paths and quoted-address re-resolution
// may route to another domain than the one after the last '@'.
// Returns "" on success.
std::string ParseRcptAddress(const std::string& arg, RcptAddress* out);

}  // namespace smime

#endif  // SMIME_MIME_RCPT_ADDRESS_H_
