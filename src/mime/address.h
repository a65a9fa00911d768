// mime/address: the sender address the signer must match.
//
// SingleMailbox() applies SMIME-RULES.md rule 6: exactly one header value
// holding exactly one mailbox with an addr-spec. Display names are ignored.
// On failure it returns a short reason naming the header ("no-from-header",
// "multiple-from-headers", "from-not-single-mailbox", "from-without-address";
// "sender-..." for Sender:) and leaves *addr empty.
//
// IdentityMailbox() is SingleMailbox() plus what a verdict needs: the header
// must read the same to every parser and to a person looking at it. It
// returns "from-ambiguous" when the value can be parsed two ways (an unquoted
// special such as '@', '<', ',' or ':' in the display name, a second angle
// address, unbalanced quotes or comments, a control character or NUL, a CR
// or LF that is not folding) and "from-display-name-address" when the
// display name or a comment, read raw or with its RFC 2047 encoded-words
// decoded (by GMime), contains an address (something@something.tld, also
// with full-width at signs) other than the mailbox. In both cases *addr
// keeps the mailbox GMime read, for the log and the domain's rules.
#ifndef SMIME_MIME_ADDRESS_H_
#define SMIME_MIME_ADDRESS_H_

#include <string>
#include <vector>

namespace smime {

// values: the raw values of every header of one name (e.g. all From:);
// header: its lower-case name for the reason ("from", "sender").
// Returns "" on success.
std::string SingleMailbox(const std::vector<std::string>& values, std::string* addr,
                          const std::string& header = "from");

// SingleMailbox() and the ambiguity checks above. Returns "" on success.
std::string IdentityMailbox(const std::vector<std::string>& values, const std::string& header,
                            std::string* addr);

// Every mailbox address in values (groups expanded), in order; for judging
// a header that SingleMailbox refused.
std::vector<std::string> AllMailboxes(const std::vector<std::string>& values);

}  // namespace smime

#endif  // SMIME_MIME_ADDRESS_H_
